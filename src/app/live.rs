//! Live events: every incident event and revision is a row of `live_events`, numbered after its
//! commit by a sequencer (`store::live::sequence`) that announces the newest position by
//! PostgreSQL NOTIFY → one listener per process → a tokio broadcast → Server-Sent Events.
//! The positions are the SSE ids, so a client reconnecting with `Last-Event-ID` is replayed
//! exactly what it missed, from any node.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::store::live::{self as log, LIVE_CHANNEL};

/// One event of the stream.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
}

/// The process's live hub: subscribe to get every event from now on.
#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Arc<LiveEvent>>,
    /// Turned to `true` when the server shuts down: open streams end, so a graceful shutdown
    /// does not wait forever for a wall that never disconnects.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        let (sender, _) = broadcast::channel(4096);
        let (closing, _) = tokio::sync::watch::channel(false);
        Hub {
            sender,
            closing: Arc::new(closing),
        }
    }

    /// Ends every open stream (at shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves when the hub is closed.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.sender.subscribe()
    }

    /// Listens for NOTIFY and broadcasts each new event in id order; after a reconnect it reads
    /// everything written meanwhile, so nothing is skipped.
    pub fn follow(
        &self,
        config: tokio_postgres::Config,
        pool: Pool,
    ) -> tokio::task::JoinHandle<()> {
        let sender = self.sender.clone();
        tokio::spawn(async move {
            // Numbers this process's commits as soon as they land (and, every half second,
            // anything a process that died after its commit left unnumbered). On a connection
            // of its own: behind a pool saturated by requests it would wait for seconds (the
            // live bench at 500 reports/s) and every wall with it.
            let sequencing = config.clone();
            let mut commits = log::commits();
            let _sequencer = crate::task::AbortOnDrop(tokio::spawn(async move {
                let mut client: Option<tokio_postgres::Client> = None;
                loop {
                    let _ =
                        tokio::time::timeout(Duration::from_millis(500), commits.changed()).await;
                    if client.as_ref().is_none_or(|c| c.is_closed()) {
                        client = crate::store::connect(&sequencing).await.ok();
                    }
                    if let Some(c) = client.as_mut()
                        && let Err(e) = log::sequence(c).await
                    {
                        tracing::warn!("live events not numbered: {e}");
                    }
                }
            }));
            let mut last: Option<i64> = None;
            loop {
                if let Ok((client, mut connection)) = config.connect(NoTls).await {
                    let (wake, mut woken) = tokio::sync::mpsc::unbounded_channel::<()>();
                    // Held so that aborting `follow` closes this connection too.
                    let driver = crate::task::AbortOnDrop(tokio::spawn(async move {
                        while let Some(message) =
                            std::future::poll_fn(|cx| connection.poll_message(cx)).await
                        {
                            match message {
                                Ok(AsyncMessage::Notification(n))
                                    if n.channel() == LIVE_CHANNEL =>
                                {
                                    let _ = wake.send(());
                                }
                                Ok(_) => {}
                                Err(_) => break,
                            }
                        }
                    }));
                    if client
                        .batch_execute(&format!("LISTEN {LIVE_CHANNEL}"))
                        .await
                        .is_ok()
                    {
                        // A fresh follower starts at the present: what committed before it
                        // started is numbered first, so it is not streamed as news.
                        if last.is_none()
                            && let Ok(mut reader) = pool.get().await
                            && log::sequence(&mut reader).await.is_ok()
                        {
                            last = log::head(&reader).await.ok();
                        }
                        // Catch up once after (re)connecting, then on every notification.
                        let mut first = true;
                        while first || woken.recv().await.is_some() {
                            first = false;
                            while woken.try_recv().is_ok() {}
                            let Ok(reader) = pool.get().await else { break };
                            let from = last.unwrap_or(0);
                            match log::after(&reader, from, 10_000).await {
                                Ok(events) => {
                                    for (id, kind, payload) in events {
                                        last = Some(id);
                                        let _ =
                                            sender.send(Arc::new(LiveEvent { id, kind, payload }));
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!("live events not read: {e}");
                                    break;
                                }
                            }
                            if driver.0.is_finished() {
                                break;
                            }
                        }
                    }
                    drop(driver);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }
}
