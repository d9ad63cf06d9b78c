"""Reports: campaign and monthly reports built from plans, orders and settlements.
A reserved home: the reports issue builds it."""
