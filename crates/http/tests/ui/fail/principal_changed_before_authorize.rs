//! A principal is read-only outside core: moving it into another org, or clearing its pending
//! MFA enrolment, before `authorize` does not compile (either would forge a scope).

use meetvault_core::access::Principal;
use meetvault_core::access::proof::MeetingsRead;
use meetvault_core::ids::OrgId;

pub fn into_another_org(mut caller: Principal, org: OrgId) {
    caller.org_id = org;
    caller.mfa_enrollment_required = false;
    let _ = caller.authorize::<MeetingsRead>();
}

fn main() {}
