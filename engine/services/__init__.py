"""Domain operations per area, as the API and the job workers call them. Each takes the
tenant's store, the caller's brand scope where reading is cut to a brand (None: the
whole tenant) and the settings or the few values it needs; none checks permissions
(the API declares them per route) and none builds a URL (the API does).

- stores: one store per tenant, and the demo tenant's data;
- snapshots, rulesets: the tenant's documents;
- plans, plan_jobs: computing and reading plans, now or as a job (the plan job kind);
- brand_cut: what a brand-scoped reader sees of plans and published quantities;
- publishing, orders: publishing a plan (with the peak guard) and selling from it;
- mode_switch: the tenant's normal / peak switch;
- scenarios: what-if scenario runs, played as jobs.
"""
