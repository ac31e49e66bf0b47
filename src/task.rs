//! Background tasks that end with their owner: a dropped tokio `JoinHandle` detaches its task, so
//! a task that spawns a helper (a LISTEN connection, say) holds it in an [`AbortOnDrop`] and the
//! helper stops when the owner is aborted, not when the runtime finally goes away.

/// Aborts the task when dropped.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn aborting_the_owner_stops_the_helper() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let owner = tokio::spawn(async move {
            let _helper = AbortOnDrop(tokio::spawn(async move {
                let _tx = tx; // the channel closes when the helper ends
                std::future::pending::<()>().await;
            }));
            std::future::pending::<()>().await;
        });
        owner.abort();
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await;
        assert_eq!(closed, Ok(None), "the helper still holds the channel");
    }
}
