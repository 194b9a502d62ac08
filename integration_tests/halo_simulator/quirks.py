"""Every HaloITSM API quirk the simulator reproduces, described ONCE, here.

Section numbers (``§``) refer to ``docs/halo-api.md``; sources are named by
the short names of its source table (section 7.2). Where that page says
UNKNOWN the behaviour is a switch (name in brackets) so the connector can be
tested against both possibilities; the default chosen is stated.

Authentication (§1)
-------------------
Q1  ``POST /auth/token`` takes form-encoded ``grant_type=client_credentials``,
    ``client_id``, ``client_secret``, ``scope`` (space separated) and an
    optional ``?tenant=`` query parameter (HaloAPI, n8n, haloitsm-mcp). HTTP
    Basic client authentication is also accepted (OpenIddict).
Q2  Success: 200 ``{access_token, token_type:"Bearer", expires_in, scope,
    refresh_token, id_token}`` (stellarcyber-sync DTO, n8n, HaloAPI; §1.3).
    ``expires_in`` defaults to 3600 [token_ttl]. A token can also be limited
    to a number of API uses [token_max_uses] to provoke mid-sync 401s.
Q3  Bad client id or secret: 401 ``{"error":"invalid_client",
    "error_description":"The specified client credentials are invalid."}``
    (halopsa-pypi, OpenIddict; §1.4). Unsupported grant type: 400
    ``unsupported_grant_type``; missing grant type / non-form body: 400
    ``invalid_request``; a scope name outside Halo's list (HaloAPI
    HaloAuth.psm1, e.g. ``read:users``, haloitsm-mcp; §1.2): 400
    ``invalid_scope``. OpenIddict order: request validation (400) first,
    client authentication (401) last.
Q4  Wrong tenant: halopsa-pypi saw **HTTP 500** for a bad tenant (§1.4); we
    answer 500 with a .NET exception body [wrong_tenant_status, 500 or 401].
    A missing tenant is accepted (django-psa, uktrade, halopsa-pypi,
    stellarcyber-sync omit it; §1.1) unless [require_tenant].
Q5  ``GET /api/authinfo`` needs no auth and returns ``{auth_url, tenant_id}``
    (HaloAPI; §1.1). ``/auth/.well-known/openid-configuration`` is served too
    (stellarcyber-sync).

Resource API basics (§1.5, §2, §5)
----------------------------------
Q6  Every ``/api/*`` route except authinfo needs ``Authorization: Bearer``.
    Missing, unknown, expired or used-up tokens get **401 with an empty body**
    and ``WWW-Authenticate: Bearer error="invalid_token"`` (INFERRED from
    OpenIddict validation, §1.5).
Q7  Paths are case-insensitive (``/api/Tickets`` == ``/api/tickets``, §2);
    query parameter *names* are matched case-insensitively (.NET binding).
Q8  Unknown query parameters are ignored silently (HaloPsa.Api: "Halo
    ignores a parameter it does not recognise"; §2), e.g. ``tickettype_id``
    (sent by haloitsm-python; §2.3).
    Unparseable *dates* in known date parameters get a 400 (.NET body)
    rather than being ignored (our choice, so connector bugs are loud).

GET /api/Tickets (§2)
---------------------
Q9  Paging: ``pageinate=true`` (sic), ``page_size``, ``page_no`` 1-based
    (§2.1). ``page_size`` is **silently capped at 100** (swagger, haloitsm-mcp)
    [max_page_size]; the response echoes the effective size unless
    [echo_requested_page_size]. Without ``page_size`` we use 50 (UNKNOWN)
    [default_page_size].
Q10 ``count=n`` limits a non-paginated response (uncapped, the Simvay runbook
    got 173 with count=400; §2.1). Neither ``count`` nor ``pageinate``:
    UNKNOWN server default; we return the first 50 rows in the default order
    [unpaged_limit].
Q11 Response is an object ``{page_no, page_size, record_count, tickets,
    include_children}``; ``page_no``/``page_size`` only when paginating;
    ``record_count`` is the total number of matching rows (§2.4).
Q12 Past the end: normally an empty ``tickets`` page. [repeat_last_page]
    makes pages beyond the end repeat the last page (django-psa commit
    1176c4c, "Halo has sent the same page of records again"; §2.1).
Q13 Ordering: ``order``/``orderdesc`` .. ``order5``/``orderdesc5`` (swagger;
    §2.2). Accepted names are UNKNOWN; we accept ``id``, ``last_update``
    (aliases ``lastupdate``, ``flastupdate``), ``dateoccurred``
    (``dateoccured``), ``dateclosed`` (``datecleared``), ``status_id``,
    ``tickettype_id``; unknown names are ignored. Halo's default order is
    UNKNOWN; ours is NOT by id: ``dateoccurred`` descending with a
    pseudo-random (hash of id) tie break
    [default_order: dateoccurred_desc | pseudo_random | id].
Q14 Filters: ``requesttype_id`` (one int), ``requesttype`` (CSV) (§2.3 -
    Halo calls ticket types "RequestType"); ``status_id``, ``ticketids``
    (CSV), ``search_id``; ``open_only``/``closed_only``; ``deleted=true``
    returns deleted tickets ONLY, otherwise deleted tickets are excluded
    (HaloAPI, swagger).
Q15 ``lastupdatefromdate``/``lastupdatetodate`` filter ``last_update``
    (django-psa production; §2.3). Inclusive or exclusive is UNKNOWN:
    [lastupdate_from_op ">=" (default) | ">"],
    [lastupdate_to_op "<=" (default) | "<"]. Compared at microsecond
    precision of the parameter.
Q16 ``datesearch`` + ``startdate``/``enddate`` (inclusive). Both spellings
    accepted: ``dateoccured|dateoccurred`` and ``datecleared|dateclosed``
    (§2.3, UNCERTAIN). An unknown ``datesearch`` value is ignored.
Q17 Date parameter formats: ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM:SS`` with an
    optional fraction and optional ``Z`` (or ``+hh:mm``) (§2.3: haloitsm-mcp,
    HaloPsa.Api, HaloAPI, django-psa). Naive values are UTC.
Q18 ``include_custom_fields=<ids>`` (comma-separated field ids) adds a
    ``customfields`` array to list rows (§2.3, django-psa): one object per
    requested field Halo knows, in the order asked, unknown ids skipped (our
    choice). Whether every instance honours it on the list is UNKNOWN
    (§7.1 question 16): [ignore_include_custom_fields] makes list rows never
    carry ``customfields``. Single GETs always carry ``customfields`` with
    every field (§3, open question 12 of §7.1 - we always include them).
    Values: Q35.
Q19 ``includedetails=false`` on the list is not honoured: full ``details``
    always come back (Simvay runbook; §2.3).

Records (§2.5, §2.6, §3, §6)
----------------------------
Q20 About 100 list fields per ticket (the always-present set of §2.5 plus
    ``status_name``, ``tickettype_name`` ... ``dateclosed``,
    ``hasbeenclosed``). ``team`` is the team NAME, ``team_id`` the id;
    ``agent_id`` 1 is the "Unassigned" agent; client id 1 means none
    (django-psa).
Q21 Datetimes in GET responses: naive UTC ``YYYY-MM-DDTHH:MM:SS[.fff]``, the
    fraction only when non-zero with trailing zeros trimmed (uktrade,
    halopsa-pypi, haloitsm-mcp).
    Values are on SQL ``datetime`` ticks (1/300 s), so fractions end in 0, 3
    or 7 ms (INFERRED, §2.6).
Q22 "No date" sentinels in optional date fields: ``1900-01-01T00:00:00``
    (targetdate, deadlinedate, dateclosed of open tickets),
    ``0001-01-01T00:00:00`` (lastincomingemail), ``1899-12-30T00:00:00``
    (auditdate and friends) (uktrade fixtures; §2.5).
Q23 Ids as decimals: Users ``site_id`` is a float next to ``site_id_int``
    (uktrade); Site ``client_id`` is a float (django-psa) (§2.5).
Q24 ``GET /api/Tickets/{id}``: one unwrapped object with ``customfields``,
    ``details_html``, nested ``priority`` (``id`` is a GUID, ``priorityid``
    the int), ``reference``, ``tags`` (§3). Unknown id: 404.
Q25 Bare arrays: ``/api/TicketType``, ``/api/Status``, ``/api/Team``,
    ``/api/Priority`` (key ``priorityid``), ``/api/SLA`` (§4, §6),
    ``/api/Outcome`` (Q34). ``/api/Agent`` is a bare array, but
    ``{record_count, results}`` (plus our ``page_no``/``page_size``) when
    ``pageinate=true`` (§6, INFERRED). Wrapped: ``/api/Users`` -> ``users``,
    ``/api/Client`` -> ``clients``, ``/api/Site`` -> ``sites``,
    ``/api/Actions`` -> ``actions`` (with ``record_count``). ``/api/FieldInfo``
    is a bare array of custom field definitions (Q35). ``/api/Category``:
    Q33. Priority rows come once per SLA (``slaid``): ``priorityid`` repeats
    across SLAs and only the GUID ``id`` is unique (swagger ``Policy`` has
    ``slaid`` and ``priorityid``).
Q26 ``GET /api/Actions`` answers ``{record_count, actions}`` (``{page_no,
    page_size, record_count, actions}`` when paged, Q39). An action's ``id``
    is unique only within its ticket: the key is (``ticket_id``, ``id``), ids
    count 1, 2, 3 ... per ticket (django-psa concatenates the two; §6). What a
    query selects: Q37; the rows: Q36.

Rate limit and errors (§5)
--------------------------
Q27 Rolling-window limit, Halo hosted: 300 requests / 5 minutes (rate-limit
    issues; §5.1) [rate_limit, rate_window]; over the limit: 429
    ``{"error":"Rate Limit Reached - 300 Requests per rolling 5 minute
    window"}`` (string ``error``, django-psa, HaloAPI; text follows the
    configured numbers). ``Retry-After`` is UNKNOWN (§5.2): [retry_after]
    on/off. Rejected requests do not count towards the window unless
    [rate_limit_count_rejected].
Q28 5xx bodies are .NET exception JSON ``{"ClassName":"System.Exception",
    "Message":...}`` (django-psa, HaloAPI; §5.4). Fault injection (see
    ``faults.py``) adds 500, 502, 503, 504, 429, dropped connections, delays,
    200-with-HTML and truncated JSON.

Reference lists (§4, §6)
------------------------
Q29 Paging where Halo pages: ``/api/Agent`` (only with ``pageinate=true``),
    ``/api/Client``, ``/api/Site``, ``/api/Users`` take ``pageinate``,
    ``page_size`` (capped as Q9), ``page_no`` and [repeat_last_page] (Q12);
    ``record_count`` is the number of rows the query matches (after the
    inactive and last-update filters). Without ``pageinate`` Client, Site
    and Users answer every row, or the first ``count``. The other lists are
    not paged. A single row (``/api/Users/{id}`` ...) ignores every filter.
    Filters besides Q30 and Q32: Site ``client_id``, Users ``site_id``,
    Category ``type_id``; other parameters are ignored (Q8).
Q30 Inactive rows. The include parameters (swagger, HaloAPI, django-psa):
    Agent ``includedisabled``/``includeenabled``/``includeunassigned``;
    Team ``includedisabled``/``includeenabled``; Client, Site, Users
    ``includeinactive``/``includeactive``; TicketType ``showinactive``;
    Outcome ``showhidden``. Whether Halo leaves inactive rows out when they
    are not asked for is UNKNOWN (§7.1 question 15) [hide_inactive, default
    on]: on, an inactive / disabled / hidden row is listed only when its
    include parameter is true, an active row unless the "enabled/active"
    parameter is explicitly false, and agent 1 ("Unassigned") only with
    ``includeunassigned=true``; off, every row is always listed.
Q31 Which rows are inactive, and the field that says so: agents
    ``isdisabled`` (3 agents who left); teams ``inactive`` (team 6); clients
    ``inactive`` (3 closed clients, with all their sites and users); sites
    ``inactive`` (also about 1 in 8 sites of clients with several); users
    ``inactive`` (also about 1 in 12); one retired ticket type (id 5
    "Legacy Request"): ``active: false`` (the swagger's RequestType_List has
    no flag; ``active`` is what django-psa reads, §4.1), and it is the type
    of a few of the oldest tickets; outcomes ``hidden`` (2). Tickets carry
    the ids of all of these, and agent 1, so a client that leaves out the
    include parameters cannot resolve them. Every id a ticket carries
    (agent, team, status, client, site, user, priority, SLA, ticket type,
    ``categoryid_1``..``4``) is a row of its list.
Q32 Last-update fields (naive UTC, Q21, on SQL ticks, some whole seconds,
    about 1 user in 10 sharing one bulk-update time): Users ``ulastupdate``,
    Client ``alastupdate``, Site ``slastupdate`` (swagger ``Users``,
    ``Area``; Site's is not in the swagger's Site_List - INFERRED).
    ``lastupdatefromdate``/``lastupdatetodate`` filter them as Q15
    (swagger lists both on /Users, /Client, /Site), with the same
    [lastupdate_from_op] / [lastupdate_to_op]; an unparseable date is a 400.
Q33 ``GET /api/Category``: "List of CategoryDetail" (swagger); its shape is
    UNKNOWN (§6, §7.1 question 14; HaloAPI accepts both)
    [category_shape: "array" (default) | "object" = ``{record_count,
    categories}``]. Rows: ``id``, ``guid``, ``value``, ``category_name``,
    ``type_id``, ``sla_id``, ``priority_id``, ... (swagger CategoryDetail).
    Mapping (our choice): ``type_id`` N is the category a ticket names in
    ``category_N``; ``value`` is that name (``category_name`` the same, as
    our values are not hierarchical); ``categoryid_N`` is the row's ``id``.
    Ids: type 1 from 1, type 2 from 101, type 3 from 201, type 4 from 301;
    0 on a ticket means none (and ``category_N`` is "").
Q34 ``GET /api/Outcome``: a bare array of TOutcome rows (``id``,
    ``outcome``, ``buttonname``, ``labellong``, ``sequence``, ``hidden``,
    ``systemid``, ``icon`` ..., the fields django-psa reads, §6).
    ``showhidden=true`` also lists hidden ones (Q30). Rows 1-8 are the
    buttons agents use; 9-14 the other outcomes actions carry, four of them
    system outcomes (``systemid`` non-zero, Q36).
Q35 Custom fields. ``/api/FieldInfo`` rows: ``id``, ``name`` (``CF...``),
    ``label``, ``type``, ``inputtype``, ``typeid`` 1 (tickets), ``values``
    for a selection (§6, swagger FieldInfo). Type codes (django-psa
    ``UDF_TYPE_MAP``, §3): 0 text, 1 memo, 2 single selection, 3 multiple
    selection, 4 date, 5 time, 6 checkbox, 10 rich text. Halo has no number
    type: a number is a text field (0) whose ``inputtype`` restricts input;
    we use ``inputtype`` 1 for integers, 4 for decimals (INFERRED codes).
    Fields: 165 Impact (2), 166 Cost centre (0), 167 Due date (4),
    168 Callback number (0), 169 Internal notes (1), 170 VIP caller (6),
    171 Affected users (0, inputtype 1), 172 Hours lost (0, inputtype 4).
    A ``customfields`` object: ``{id, name, label, type, value, display,
    ...settings}`` (uktrade, swagger CustomField). ``value`` by type: text
    and memo a string; number inputs a JSON number; date a Halo datetime
    (Q21) with ``display`` ``dd/mm/yyyy``; checkbox a boolean (``display``
    Yes/No); single selection the option's ``id`` with ``display`` its
    name. Per ticket, deterministic from the seed: each field has a value
    on a share of tickets, and about 7% of tickets have none at all. A field
    without a value is still listed when asked for, with ``value`` null and
    ``display`` "" (UNKNOWN what Halo sends; our choice).

GET /api/Actions (§6; open questions 17-20 of §7.1)
---------------------------------------------------
Q36 Rows (swagger ``Actions``, stellarcyber-sync's action DTO, django-psa):
    ``ticket_id``, ``id``, ``outcome`` (the outcome's name), ``outcome_id``
    (a row of /api/Outcome, Q34), ``action_systemid``, ``who``,
    ``who_type``, ``who_agentid``, ``datetime`` (when it happened),
    ``actiondatecreated`` (= ``datetime``), ``actionarrivaldate`` /
    ``actioncompletiondate`` (start and end of the work, django-psa: a time
    entry, phone call or timed note starts ``timetaken`` hours before
    ``datetime``, never before the ticket's ``dateoccurred``; otherwise both
    are ``datetime``), ``last_updated``, ``note`` (plain text, unicode and
    PII), ``hiddenfromuser``, ``important``, ``timetaken`` (hours),
    ``nonbilltime``, ``actisbillable``, ``chargerate``, ``old_status`` /
    ``new_status`` / ``new_status_name`` (status changes, else 0 / ""),
    ``emailfrom`` / ``emailto`` / ``emailsubject`` (emails, else ""),
    ``attachment_count``, ``actionby_agent_id``, ``actionby_user_id``,
    ``unread``, ``personal_unread``, ``colour``, ``guid``. Datetimes as Q21.
    System actions: ``action_systemid`` non-zero (the swagger's field, which
    stellarcyber-sync validates on every action); it is the ``systemid`` of
    the action's outcome (TOutcome ``systemid``). Which outcomes Halo treats
    as system ones, and their numbers, are UNKNOWN (§7.1 question 20); ours:
    11 Ticket Logged (1), 12 Status Change (2), 13 SLA Hold (3), 14 SLA
    Release (4); ``excludesys=true`` leaves them out. The others: 1 Note,
    2 Email User, 3 Phone Call, 4 Escalate, 9 Time Entry, 10 Email Received.
    ``who_type`` (codes INFERRED): 1 an agent (``who_agentid``, disabled
    agents too, Q31), 2 the ticket's end-user (``who_agentid`` 0,
    ``actionby_user_id`` the user), 0 "System" (SLA hold and release).
    Private actions: ``hiddenfromuser`` true (about a third of notes, most
    time entries, every escalation and SLA action); ``excludeprivate=true``
    leaves them out. ``includehtmlnote=true`` adds ``note_html`` to every
    row, ``includehtmlemail=true`` adds ``emailbody_html`` (the HTML of an
    email, "" on other actions); without them neither field is sent (swagger
    names). Data: deterministic from the seed, on average
    ``actions_per_ticket`` per ticket (constructor, ``--actions-per-ticket``,
    default 5), about 5% of tickets with none (imported), a few (at least
    one in 100 or more tickets) with 50-150.
Q37 Selection (swagger parameters; halopsa-pypi claim): ``ticket_id=N`` -
    the actions of ticket N (none for an unknown or deleted ticket);
    ``startdate`` + ``enddate`` - actions whose ``datetime`` is within
    [startdate, enddate], both ends included, formats as Q17 (a date alone is
    midnight, so ``enddate=2025-06-02`` ends at 00:00 that day; a range is
    compared at the parameters' precision); unparseable: 400 (Q8). With
    ``ticket_id`` the dates narrow that ticket's actions. Neither
    ``ticket_id`` nor both dates: ``{record_count: 0, actions: []}`` ("If
    neither are provided, nothing will be returned", halopsa-pypi).
    ``datesearch`` (in the swagger, without a description) is accepted and
    ignored: the range is always on ``datetime``. Other swagger filters
    (``agentonly``, ``conversationonly``, ``slaonly``, ``actoutcomenum`` ...)
    are ignored (Q8). Deleted actions, and every action of a deleted ticket,
    are never listed.
Q38 Ranges without ``ticket_id`` (§7.1 question 18, UNKNOWN) [actions_range]:
    ``answer`` (default) serves them; ``refuse`` answers each 400 (.NET body,
    Q28); ``empty`` answers ``{record_count: 0, actions: []}``. With
    ``answer``, a range longer than [actions_max_range_days] days (default 1,
    as halopsa-pypi claims: "Date range can be 1 day at most"; 0 = no limit)
    is a 400 with a .NET ``System.ArgumentException`` body, "Date range can be
    N day(s) at most." (text ours); exactly N days is accepted. No limit with
    ``ticket_id``.
Q39 Paging (§7.1 question 17, UNKNOWN: the swagger lists no paging parameter
    for GET /Actions, HaloAPI reads it with auto-paging off)
    [actions_paging]: ``paged`` (default) - ``pageinate=true`` with
    ``page_size`` (capped and defaulted as Q9) and ``page_no`` answers
    ``{page_no, page_size, record_count, actions}``, ``record_count`` the
    total the query matches; past the end an empty page, or the last page
    again with [repeat_last_page] (Q12); [echo_requested_page_size] as Q9.
    ``ignored`` - ``pageinate`` is ignored: every matching action in one
    answer. Without paging: every matching action (no [unpaged_limit]), or
    the first ``count``. Order: ``ticket_id`` then ``id``; ``order=datetime``
    by ``datetime`` (ties by ticket_id, id); ``orderdesc=true`` reverses
    either; other ``order`` names are ignored.
Q40 Consistency with the tickets: a ticket's actions happen between its
    ``dateoccurred`` and ``last_update``, in id order: action 1 ("Ticket
    Logged") at ``dateoccurred``; a closed ticket's last action is the
    "Status Change" to its status at ``dateclosed``; a ticket's last status
    change sets its current ``status_id`` (``old_status`` chains, from 1
    New). ``lastactiondate`` is the ticket's newest action's ``datetime``,
    "1900-01-01T00:00:00" (Q22) when it has none (UNKNOWN sentinel).
    ``last_updated`` is never before ``datetime`` (about 8% of the generated
    actions were edited later, before the ticket's ``last_update``).
    ``lastnote_date`` is not derived from the actions.
Q41 ``GET /api/Actions/{id}?ticket_id=N`` (the swagger's single GET takes
    ``ticket_id``; ids are per ticket): the row of Q36 plus ``note_html``,
    and ``emailbody_html`` with ``includeemail=true``; 404 without
    ``ticket_id``, for a deleted action or a deleted ticket's.
Q42 Halo's clock (§8): every answer carries an HTTP ``Date`` header (RFC
    9110 6.6.1: a server with a clock sends one; IIS does) [date_header,
    default on]. Halo's clock may differ from the client's (an on-premises
    server, a drifting virtual machine) [clock_offset, seconds, default 0]:
    the ``Date`` header and the ``last_update`` (and action times) of every
    change made while the simulator runs carry the offset, and the generated
    data ends at Halo's present.
Q43 Deleted tickets (§2.3, §7.1 question 13): ``deleted=true`` lists them
    (only them), with the other filters applied as usual. Deleting does not
    move ``last_update`` unless [delete_moves_last_update]. Their actions
    leave every action list (ranges, ``ticket_id``) unless
    [deleted_ticket_actions] is ``listed``: then ``ticket_id`` still answers
    a deleted ticket's actions (UNKNOWN in Halo).

Simulator-only behaviour (not Halo)
-----------------------------------
* [echo_secrets]: error bodies echo the submitted client secret / bearer
  token so leak tests can prove the connector never prints them.
* The control path ``/_sim/*`` needs no auth and is never logged.
* Ground truth: ``truth(stream)`` / ``GET /_sim/truth?stream=`` - tickets
  ({id: {last_update, tickettype_id, deleted, status_id, dateoccurred,
  lastactiondate}}), ``ticket_custom_fields`` ({ticket id: {field id:
  value}}, fields with a value only), every reference list ({id: row as
  served, inactive rows included}; priorities {priorityid: {slaid: row}})
  and ``actions`` ({(ticket_id, id): row as served, without html fields},
  the live actions of live tickets - of deleted ones too with
  ``include_deleted``; over HTTP the keys are "ticket_id:id").
* Actions change (Q36-Q40 stay true): ``mutate(actions_add=, actions_edit=,
  actions_delete=)``, the same keys in the ``/_sim/mutate`` body and in
  mutation-schedule rules (whose ``path`` may be ``/api/actions``, so they
  fire while a sync pages actions). Adding gives a random live ticket its
  next action id (its highest id ever + 1: a deleted id is never reused)
  with ``datetime`` now, and moves the ticket's ``last_update`` and
  ``lastactiondate`` to now. Editing changes an action's ``note`` and moves
  its ``last_updated`` and the ticket's ``last_update`` to now (not its
  ``datetime``). Deleting removes it and moves the ticket's
  ``last_update``; ``lastactiondate`` becomes the newest action left. A
  ticket update (``update=``) that changes the status adds a "Status
  Change" action at now; a created ticket gets its "Ticket Logged" action; a
  deleted ticket's actions are no longer listed. ``sim.mutations[-1]`` has
  ``actions_added`` / ``actions_edited`` / ``actions_deleted`` as
  [ticket_id, id] pairs.
* Mutations of reference rows (``mutate(users=, clients=, sites=)``, the
  ``/_sim/mutate`` body, mutation schedules): the last-update time of n
  random rows moves to now, and one in five also flips ``inactive``.
  Reference rows are never created or deleted.
"""

NO_DATE_1900 = "1900-01-01T00:00:00"
NO_DATE_0001 = "0001-01-01T00:00:00"
NO_DATE_1899 = "1899-12-30T00:00:00"

INVALID_CLIENT = {
    "error": "invalid_client",
    "error_description": "The specified client credentials are invalid.",
}

# OpenIddict scope names Halo accepts (HaloAPI Classes/HaloAuth.psm1), docs/halo-api.md §1.2.
VALID_SCOPES = frozenset(
    """all all:standard admin read:tickets edit:tickets read:calendar edit:calendar
    read:customers edit:customers read:crm edit:crm editMine:timesheets read:timesheets
    edit:timesheets read:contracts edit:contracts read:suppliers edit:suppliers read:items
    edit:items read:projects edit:projects read:sales edit:sales read:quotes edit:quotes
    read:sos edit:sos read:pos edit:pos read:invoices edit:invoices read:reporting
    edit:reporting read:software edit:software read:softwarelicensing
    edit:softwarelicensing read:kb edit:kb read:assets edit:assets access:chat
    access:adpasswordreset""".split()
)


def rate_limit_message(limit: int, window_seconds: float) -> str:
    """Q27: the 429 text, reflecting the configured numbers."""
    if window_seconds % 60 == 0:
        span = f"{int(window_seconds // 60)} minute"
    else:
        span = f"{window_seconds:g} second"
    return f"Rate Limit Reached - {limit} Requests per rolling {span} window"


def dotnet_error(message: str, class_name: str = "System.Exception") -> dict:
    """Q28: .NET exception serialisation used by Halo for 5xx and some 400s."""
    return {
        "ClassName": class_name,
        "Message": message,
        "Data": None,
        "InnerException": None,
        "HelpURL": None,
        "StackTraceString": "   at Halo.Api.Controllers.BaseController.Invoke()",
        "HResult": -2146233088,
        "Source": "HaloAPI",
    }
