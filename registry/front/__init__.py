"""The evented front of `strata serve`: the event loop reads each request's head and body without
blocking, under deadlines and size caps, and only a complete request reaches a request thread.

`worker.FrontWorker` is the gunicorn worker class, `serving` its request threads' side;
`traffic` keeps synchronous invocations on request threads of their own, so the registry's never
wait behind a function; `body` collects request bodies as they arrive; `responses` lets the loop
finish a download a client reads slowly; `limits` holds the timeouts and caps. The application
may tell the front, from a request's head alone, how much body it will accept (an attribute
`body_allowance` on the WSGI app), so a request that will be refused costs no body, and count
what the front answers on its own (`front_answers`, registry/metrics/front.py).
"""
