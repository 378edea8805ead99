//! A WebSocket seen as a byte stream, so that HTTP/2 can run over it.
//!
//! Each flush of the writer becomes one binary message; binary messages from the peer are
//! concatenated into the read side. This is the only module that touches WebSocket frames
//! after the hello exchange. Text frames after the hello are a protocol violation and fail the
//! stream; pings are answered by tungstenite on the next write or flush, which we force here so
//! an idle link still answers.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

/// Largest message we write; HTTP/2 frames are far smaller, so this only bounds coalescing.
const MAX_WRITE_MESSAGE: usize = 1 << 20;

/// WebSocket limits used on both ends of the tunnel.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(4 << 20))
        .max_frame_size(Some(4 << 20))
        // tungstenite keeps (and zero-fills) a read buffer this size per connection; 16 KiB is a
        // TLS record's worth and keeps an idle agent's tunnel cheap for the broker.
        .read_buffer_size(16 << 10)
        .write_buffer_size(256 << 10)
        .max_write_buffer_size(8 << 20)
}

/// `AsyncRead + AsyncWrite` over a [`WebSocketStream`].
#[derive(Debug)]
pub struct WsIo<S> {
    ws: WebSocketStream<S>,
    pending_read: Bytes,
    pending_write: BytesMut,
    read_eof: bool,
}

impl<S> WsIo<S> {
    pub fn new(ws: WebSocketStream<S>) -> Self {
        WsIo {
            ws,
            pending_read: Bytes::new(),
            pending_write: BytesMut::new(),
            read_eof: false,
        }
    }
}

fn to_io(err: tungstenite::Error) -> io::Error {
    match err {
        tungstenite::Error::Io(err) => err,
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            io::Error::new(io::ErrorKind::BrokenPipe, "websocket closed")
        }
        other => io::Error::other(other),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsIo<S> {
    /// Hands the buffered bytes to the WebSocket as one binary message.
    fn poll_send_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.pending_write.is_empty() {
            return Poll::Ready(Ok(()));
        }
        ready!(Pin::new(&mut self.ws).poll_ready(cx)).map_err(to_io)?;
        let message = Message::Binary(self.pending_write.split().freeze());
        Pin::new(&mut self.ws).start_send(message).map_err(to_io)?;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.pending_read.is_empty() {
                let n = this.pending_read.len().min(buf.remaining());
                buf.put_slice(&this.pending_read[..n]);
                this.pending_read.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.read_eof {
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                Some(Ok(Message::Binary(data))) => this.pending_read = data,
                Some(Ok(Message::Ping(_))) => {
                    // tungstenite queued the pong; push it out now even if we write nothing.
                    if let Poll::Ready(Err(err)) = Pin::new(&mut this.ws).poll_flush(cx) {
                        return Poll::Ready(Err(to_io(err)));
                    }
                }
                Some(Ok(Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "unexpected text frame on the tunnel byte stream",
                    )));
                }
                Some(Ok(Message::Close(_))) | None => this.read_eof = true,
                Some(Err(err)) => return Poll::Ready(Err(to_io(err))),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending_write.len() >= MAX_WRITE_MESSAGE {
            ready!(this.poll_send_pending(cx))?;
        }
        let n = buf.len().min(MAX_WRITE_MESSAGE - this.pending_write.len());
        this.pending_write.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_pending(cx))?;
        Pin::new(&mut this.ws).poll_flush(cx).map_err(to_io)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_pending(cx))?;
        match ready!(Pin::new(&mut this.ws).poll_close(cx)) {
            Ok(()) | Err(tungstenite::Error::ConnectionClosed) => Poll::Ready(Ok(())),
            Err(err) => Poll::Ready(Err(to_io(err))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::protocol::Role;

    #[tokio::test]
    async fn bytes_cross_in_both_directions_and_close_is_eof() {
        let (a, b) = tokio::io::duplex(64 << 10);
        let client = WebSocketStream::from_raw_socket(a, Role::Client, None).await;
        let server = WebSocketStream::from_raw_socket(b, Role::Server, None).await;
        let (mut client, mut server) = (WsIo::new(client), WsIo::new(server));

        let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let sent = payload.clone();
        let writer = tokio::spawn(async move {
            client.write_all(&sent).await.unwrap();
            client.flush().await.unwrap();
            client.shutdown().await.unwrap();
            client
        });
        let mut received = Vec::new();
        server.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, payload);
        writer.await.unwrap();
    }
}
