//! Reach is asked of the permission a scope proved, and only of a workspace-scoped one: an
//! org-level or own-account scope has none, and an untyped id is not a meeting id.

use meetvault_core::Core;
use meetvault_core::access::Scope;
use meetvault_core::access::proof::{KeysManage, MeetingsRead, OwnAccount};
use meetvault_core::ids::WorkspaceId;

pub fn reach(keys: &Scope<KeysManage>, account: &Scope<OwnAccount>, ws: WorkspaceId) -> bool {
    keys.reaches(ws) || account.reaches(ws)
}

pub async fn by_uuid(core: &Core, scope: &Scope<MeetingsRead>, id: uuid::Uuid) {
    let _ = core.meetings().get(scope, id).await;
}

fn main() {}
