"""Settlement: payment bills, warehouse records and platform orders matched into the
initial bill. A reserved home: the settlement issue builds it."""
