"""The allocation rule catalog and its compile step into one array problem."""
