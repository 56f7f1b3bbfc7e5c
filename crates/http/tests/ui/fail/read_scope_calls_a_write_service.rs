//! A caller holding a `meetings:read` scope cannot import transcript segments (a write).

use meetvault_core::Core;
use meetvault_core::access::proof::MeetingsRead;
use meetvault_core::access::{Denied, Principal};
use meetvault_core::ids::MeetingId;

pub async fn import(core: &Core, caller: &Principal, id: MeetingId) -> Result<(), Denied> {
    let scope = caller.authorize::<MeetingsRead>()?;
    let _ = core.transcripts().add_segments(&scope, id, &[]).await;
    Ok(())
}

fn main() {}
