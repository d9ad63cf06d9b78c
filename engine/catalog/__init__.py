"""Product catalog: the brand's product master, checked against every platform's
listing requirements. A reserved home: the catalog issue builds it."""
