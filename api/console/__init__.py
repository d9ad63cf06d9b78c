"""The operators' console: server-rendered pages over the same services and access
rules as the API. A reserved home: the console issue builds it."""
