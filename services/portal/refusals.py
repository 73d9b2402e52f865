"""The services' refusals a commission meets, by their stable code, in the person's words.

The service decides and words the refusal (its ``detail``, in English, is shown beside for
the record); here is only how to say it in kk, ru and en. An unknown code shows the
service's own words.
"""

from __future__ import annotations

from services.portal.i18n import N_

REFUSALS: dict[str, str] = {
    # a field's own problem (the services' validation), said next to the field
    "missing": N_("This field is required."),
    "string_too_short": N_("This field is required."),
    "string_too_long": N_("This text is too long."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "greater_than_equal": N_("The number is too small."),
    "greater_than": N_("The number is too small."),
    "less_than_equal": N_("The number is too large."),
    "less_than": N_("The number is too large."),
    "date_invalid": N_("Enter a date."),
    "file_missing": N_("Choose a file."),
    "not_found": N_("There is no such page."),
    # a paper poll's file and its lines (the survey service checks them)
    "import_refused": N_("Nothing was imported: some lines of the file have a problem."),
    "csv_malformed": N_("The file is not a readable CSV file."),
    "csv_empty": N_("The file is empty."),
    "csv_bad_header": N_("The first line must be the header: iin, then a1 to a16."),
    "csv_no_rows": N_("The file has a header but no resident's line."),
    "wrong_column_count": N_("The line does not have the IIN and all 16 answers."),
    "invalid_iin": N_("The IIN is not valid."),
    "answer_not_integer": N_("An answer is not a whole number."),
    "answer_out_of_range": N_("An answer is outside 0 to 10."),
    "wrong_answer_count": N_("The number of answers is wrong."),
    "duplicate_in_file": N_("This resident appears twice in the file."),
    "not_on_roll": N_("This resident is not on the survey's roll."),
    "commission_size": N_(
        "The commission does not have the number of voting members the rules ask for."
    ),
    "duplicate_member": N_("A person is listed twice."),
    "chair_not_member": N_("The chair must be one of the voting members."),
    "secretary_is_member": N_("The secretary does not vote: they cannot also be a member."),
    "region_invalid": N_("A regional commission needs its region."),
    "chair_position_required": N_("State the chair's post."),
    "chair_position_not_allowed": N_(
        "The rules do not let a person of this post chair the commission."
    ),
    "secretary_position_required": N_("State the secretary's post."),
    "secretary_position_not_allowed": N_(
        "The rules do not let a person of this post be the secretary."
    ),
    "commission_already_formed": N_("This region's commission is formed already."),
    "invalid_roll": N_("The roll was not set: some lines do not hold a valid IIN."),
    "roll_locked": N_("The roll can no longer be replaced: residents have already answered."),
    "already_answered": N_("This resident has already answered."),
    "close_not_confirmed": N_(
        "Tick the box to confirm: once a stage is closed, nothing more is recorded in it."
    ),
    # an application's admission check (§6, §9, §10, §11)
    "akim_term_too_short": N_("The akim has held the post for less than a year (§6)."),
    "sanction_not_lifted": N_("The akim has a disciplinary sanction that is not lifted (§6)."),
    "application_late": N_("The application came after the application window closed (§9)."),
    "consent_missing": N_("A consent of the Annex 1 statement is missing."),
    "document_missing": N_("A document of the file (§9) is missing."),
    "essay_too_long": N_("The essay is longer than allowed."),
    "video_too_long": N_("The project video is longer than allowed."),
    "video_duration_unknown": N_("The project video's length could not be measured."),
    "document_pages_unknown": N_("A document's pages could not be counted."),
    "indicators_wrong_date": N_("The socio-economic indicators are not as of 1 January (§9)."),
    "sitting_not_quorate": N_(
        "The sitting is not quorate: fewer than two thirds of the members are present, so "
        "nothing can be scored or decided."
    ),
    "attendance_not_recorded": N_("Record the attendance first: the quorum depends on it."),
    "stage_closed": N_("This stage is closed: nothing more can be recorded in it."),
    "candidate_out_of_scope": N_("This candidate is not before this commission."),
    "member_absent": N_("You are not marked present at this sitting."),
    "member_recused": N_("You have recused yourself from this candidate."),
    "already_recused": N_("You have already recused yourself from this candidate."),
    "recusal_reason_required": N_("Say why you recuse yourself."),
    "not_a_member": N_("You are not a member of this commission."),
    "not_the_chair": N_("Only the chair can do this."),
    "not_sheet_owner": N_("Only the member who recorded the sheet can correct it."),
    "sheet_already_recorded": N_(
        "You have already recorded this sheet; correct it instead, with a reason."
    ),
    "sheet_superseded": N_("This sheet has already been corrected; correct the latest one."),
    "score_out_of_range": N_("A score is outside its scale."),
    "score_not_integer": N_("Each score must be a whole number."),
    "request_invalid": N_("Some fields are missing or not valid."),
    "invalid_text": N_("Some text is not valid."),
    "protocol_already_signed": N_("You have already signed this protocol."),
    "protocol_signed": N_("The protocol is signed: the sitting's record is closed."),
    "protocol_digest_mismatch": N_(
        "The protocol changed since you read it: read it again before you sign."
    ),
    "signature_invalid": N_("The signature does not match the protocol and the key."),
    "signing_key_mismatch": N_("This is not the key you signed with before."),
    "casting_vote_pending": N_("A tie waits for the chair's casting vote."),
    "no_pending_tie": N_("There is no tie waiting for a casting vote."),
    "role_not_allowed": N_("Your role does not allow this."),
    "region_not_allowed": N_("This belongs to another region."),
    "region_required": N_("Your account names no region."),
    "commission_not_allowed": N_("This belongs to another commission."),
    "token_expired": N_("Your session has expired: sign in again."),
    "token_invalid": N_("Your session is not valid: sign in again."),
    "deadline_passed": N_("The deadline for this has passed."),
    "candidates_unscored": N_("Some candidates have not been scored yet."),
    "sitting_already_opened": N_("A sitting with this id is already open."),
    "ethics_already_recorded": N_("The ethics result is already recorded."),
    "feedback_already_recorded": N_("The feedback assessment is already recorded."),
    "finalist_already_selected": N_("The region's finalist is already selected."),
    "unreachable": N_("A service did not answer. Nothing was recorded; try again in a moment."),
    "error": N_("Something went wrong on our side. Nothing was recorded; please try again."),
    "csrf_failed": N_("The form was out of date. Nothing was recorded; please send it again."),
}
