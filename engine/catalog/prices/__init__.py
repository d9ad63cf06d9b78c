"""The price guard: the price policy, how each platform stacks promotions, and the
lowest price each SKU can reach in each shop against its floor."""
