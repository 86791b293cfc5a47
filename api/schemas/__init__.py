"""The machine API's bodies: bad input is a 422 before any handler runs.

`commands`: what the TTHC system sends, each input model building its domain command; `views`: what the
API answers; `dvcqg` and `payments`: the national portal's and the payment platform's own formats;
`calendar`: calendar overrides; `common`: the field types they share (codes, times, money, texts).
"""
