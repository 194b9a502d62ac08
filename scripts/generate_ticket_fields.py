"""Regenerates source_haloitsm/schemas/halo_ticket_fields.json from Halo's swagger field list.

Source: scripts/halo_swagger/swagger_schema_Faults_List.tsv, the `Faults_List` schema of Halo's
swagger (its origin is in scripts/halo_swagger/README.md), and the default list-row fields of
docs/halo-api.md section 2.5 (n8n's schema derived from a real answer, and the tested `Ticket`
dataclass of the `halopsa` PyPI package). Run: python scripts/generate_ticket_fields.py
"""
import csv
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
TSV = ROOT / "scripts" / "halo_swagger" / "swagger_schema_Faults_List.tsv"
OUT = ROOT / "source_haloitsm" / "schemas" / "halo_ticket_fields.json"

# docs/halo-api.md 2.5: fields always present in a GET /Tickets list row, plus the often-present ones.
DEFAULT_LIST_FIELDS = """
id dateoccurred summary details status_id tickettype_id sla_id priority_id client_id client_name
site_id site_name user_id user_name team_id team agent_id category_1 category_2 category_3
category_4 estimate estimatedays timetaken child_count attachment_count flagged read
enduserstatus onhold respondbydate fixbydate excludefromsla slaholdtime site_timezone
lastactiondate last_update organisation_id department_id reportedby user_email emailtolist
emailcclist matched_kb_id product_id release_id release2_id release3_id lastincomingemail
workflow_id workflow_step workflow_seq pipeline_stage_id is_vip isimportantcontact inactive
impact urgency starttime starttimeslot targetdate targettime targettimeslot deadlinedate cost
quantity userdef1 userdef2 userdef3 userdef4 userdef5 source supplier_status appointment_type
section_timezone projectinternaltask impactlevel reviewed merged_into_id table use ticketage
useful_count notuseful_count updateservicestatus servicestatusnote itil_requesttype_id
ticket_tags invoiceseperatelyoverride purchaseordernumber guid idsummary
maximumRestrictedPriority responsedate slaresponsestate _open_search_score lastnote_date viewers
status_name tickettype_name sla_name agent_name priority_name categoryid_1 categoryid_2
categoryid_3 categoryid_4 dateclosed dateassigned hasbeenclosed parent_id customfields
""".split()


def main() -> None:
    swagger = {}
    with TSV.open() as f:
        for row in csv.DictReader(f, delimiter="\t"):
            swagger[row["field"]] = {"type": row["type"], "format": row["format"] or None}
    fields = {}
    for name, t in swagger.items():
        fields[name] = {"type": t["type"], "format": t["format"], "default_list": name in DEFAULT_LIST_FIELDS}
    for name in DEFAULT_LIST_FIELDS:
        if name not in fields:  # seen in real list rows but missing from the 2024 swagger
            fields[name] = {"type": "unknown", "format": None, "default_list": True}
    OUT.write_text(json.dumps(fields, indent=1, sort_keys=True) + "\n")
    print(f"{len(fields)} fields, {sum(f['default_list'] for f in fields.values())} in the default list row -> {OUT}")


if __name__ == "__main__":
    main()
