"""`sarcgen review`: read, search and curate one run folder in the browser.

- `index`  every record of the run (kept or not) in memory: facets, search, sort, paging;
- `store`  decisions in RUN/review.jsonl (also read by `sarcgen publish`);
- `detail` one record in full: cluster, judge answer, provenance, rendered prompt;
- `app`    the FastAPI app (token on every request, escaped output);  `server` runs it on uvicorn.
"""
