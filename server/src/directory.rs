//! What the verification page learns about its session at SSR time: the app's
//! [`SessionDirectory`] over the session store. Read-only: checking a capture link here never
//! redeems it (only the WebSocket does).
use app::{
    session_info::{LinkState, SessionPageInfo},
    ssr::{BoxFuture, SessionDirectory},
};

use crate::store::{
    self,
    sessions::{self, SessionKind},
    Db,
};

/// The session store, as the pages see it.
pub struct StoreDirectory {
    db: Db,
}

impl StoreDirectory {
    pub fn new(db: Db) -> Self {
        StoreDirectory { db }
    }
}

impl SessionDirectory for StoreDirectory {
    fn page_info<'a>(
        &'a self,
        id: &'a str,
        capture: &'a str,
    ) -> BoxFuture<'a, Result<SessionPageInfo, String>> {
        Box::pin(async move {
            let session = match sessions::get(&self.db, id).await {
                Ok(Some(s)) => s,
                Ok(None) => return Ok(SessionPageInfo::refused(LinkState::NotFound)),
                // Logged by the store's instrumentation; the page shows "not found".
                Err(_) => return Err("the session store is unavailable".to_owned()),
            };
            let state = match sessions::capture_refusal(&session, capture, store::now()) {
                None => LinkState::Ok,
                Some(store::Error::Expired) => LinkState::Expired,
                Some(store::Error::AlreadyStarted) => LinkState::AlreadyUsed,
                Some(_) => LinkState::InvalidLink,
            };
            // The way back is the integrator's: only for its managed sessions, and only to the
            // holder of the link's own secret (whatever state the link is in).
            let status = match state {
                LinkState::Expired => "expired",
                LinkState::AlreadyUsed => "already_used",
                _ => "interrupted",
            };
            let back = (session.kind == SessionKind::Managed
                && store::secret_matches(&session.capture_hash, capture))
            .then(|| session.way_back(status))
            .flatten();
            Ok(SessionPageInfo {
                state,
                mode: session.mode,
                managed: session.kind == SessionKind::Managed,
                locale: session.locale,
                back,
            })
        })
    }
}
