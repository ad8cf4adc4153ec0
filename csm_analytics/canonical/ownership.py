"""Who owns an account on a day: one rule, stated once, for every domain.

The owner of account A on day D is the CSM of A's `raw.csm_assignments` row with the latest `valid_from` on or
before D, as long as D is on or before that row's `valid_to` (an empty `valid_to` is open-ended). Overlapping rows
(a hand-over entered before the old row was closed) therefore resolve to the newer assignment; two rows starting
the same day resolve to the greater `csm_id`; a day that no row covers has no owner.

`OWNER_PERIODS` is that rule as a derived table of non-overlapping periods per account (`valid_to` never NULL),
so a consumer joins `ON o.account_id = x.account_id AND day BETWEEN o.valid_from AND o.valid_to` and can never
count an account twice. Use it wherever "the CSM of this account on that day" is meant; `raw.csm_assignments`
itself only where the assignment rows are the subject (ramp-up of a new CSM's book).
"""

OPEN_END = "DATE '9999-12-31'"

OWNER_PERIODS = f"""(
    SELECT account_id, csm_id, valid_from, valid_to FROM (
        SELECT account_id, csm_id, valid_from,
               least(coalesce(valid_to, {OPEN_END}),
                     coalesce(lead(valid_from) OVER (PARTITION BY account_id ORDER BY valid_from, csm_id) - 1,
                              {OPEN_END})) AS valid_to
        FROM raw.csm_assignments)
    WHERE valid_to >= valid_from)"""
