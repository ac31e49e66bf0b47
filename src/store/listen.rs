//! LISTEN for new revisions (and calendar loads), so every server reloads its atlas snapshot when
//! any node commits.
//! A dropped connection is re-established; the callback then runs with `None` so the caller can
//! re-check for revisions it may have missed meanwhile.

use std::time::Duration;

use tokio_postgres::{AsyncMessage, NoTls};

use super::cells::REVISION_CHANNEL;

/// Spawns the listener; `on_revision(Some(n))` for each announced revision, `None` after a
/// (re)connection.
pub fn spawn_revision_listener<F>(
    config: tokio_postgres::Config,
    on_revision: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(Option<i32>) + Send + Sync + 'static,
{
    spawn_listener(config, REVISION_CHANNEL, move |payload| {
        on_revision(payload.and_then(|p| p.parse().ok()))
    })
}

/// Spawns a listener on `channel`: `on_notify(Some(payload))` per notification, `None` after a
/// (re)connection (so the caller re-reads what it may have missed).
pub fn spawn_listener<F>(
    config: tokio_postgres::Config,
    channel: &'static str,
    on_notify: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(Option<&str>) + Send + Sync + 'static,
{
    tokio::spawn(async move {
        loop {
            match config.connect(NoTls).await {
                Ok((client, mut connection)) => {
                    let listen = async { client.batch_execute(&format!("LISTEN {channel}")).await };
                    // The connection must be polled for the LISTEN to complete.
                    let mut listen = std::pin::pin!(listen);
                    let ready = loop {
                        tokio::select! {
                            result = &mut listen => break result.is_ok(),
                            message = std::future::poll_fn(|cx| connection.poll_message(cx)) => {
                                if !matches!(message, Some(Ok(_))) { break false; }
                            }
                        }
                    };
                    if ready {
                        on_notify(None);
                        while let Some(message) =
                            std::future::poll_fn(|cx| connection.poll_message(cx)).await
                        {
                            match message {
                                Ok(AsyncMessage::Notification(n)) if n.channel() == channel => {
                                    on_notify(Some(n.payload()));
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!("{channel} listener lost its connection: {e}");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::debug!("{channel} listener cannot connect: {e}"),
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}
