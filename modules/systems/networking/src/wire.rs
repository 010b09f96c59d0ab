//! What crosses the wire: length-prefixed frames (tokio-util's `LengthDelimitedCodec`, used
//! without an async runtime) holding messages encoded with the api's codec. A host and a
//! joiner first agree on [`PROTOCOL`]; anything else (garbage, a frame over [`MAX_FRAME`], or
//! over [`HELLO_FRAME`] before the hello, a message out of turn) closes that connection with
//! the reason.

use bytes::{Buf, Bytes, BytesMut};
use playground_api::codec;
use playground_api::serde::{Deserialize, Serialize};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

/// The version of this protocol; a joiner speaking another is turned away.
pub(crate) const PROTOCOL: u32 = 1;

/// The largest frame either side accepts: a snapshot of a few thousand entities fits.
pub(crate) const MAX_FRAME: usize = 4 << 20;

/// The largest frame a host reads from a connection that has not said hello: a hello is a
/// few bytes, and a stranger must not make the host hold megabytes.
pub(crate) const HELLO_FRAME: usize = 1 << 10;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(crate = "playground_api::serde")]
pub(crate) enum Message {
    /// Joiner -> host, first.
    Hello { protocol: u32 },
    /// Host -> joiner, after `Hello`: what the host's app said about the new peer.
    Welcome { payload: Vec<u8> },
    /// Host -> joiners, at a steady rate; `seq` counts up by one from 1.
    Snapshot { seq: u64, payload: Vec<u8> },
    /// Joiner -> host: the joiner's input, for the host's app.
    Input { payload: Vec<u8> },
    /// Either way, before closing: why.
    Goodbye { reason: String },
}

fn frames(max: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder().max_frame_length(max).new_codec()
}

/// Appends `message` as one frame to `out`.
pub(crate) fn push(out: &mut BytesMut, message: &Message) -> Result<usize, String> {
    let body = codec::encode(message)?;
    let before = out.len();
    frames(MAX_FRAME).encode(Bytes::from(body), out).map_err(|e| format!("cannot frame a message: {e}"))?;
    Ok(out.len() - before)
}

/// The next whole message at the front of `unread`, taken off it; `Ok(None)` until one has
/// arrived whole; `Err` for a frame over `max` bytes or bytes that are not a message.
pub(crate) fn next(unread: &mut BytesMut, max: usize) -> Result<Option<(Message, usize)>, String> {
    // The codec remembers a frame's header once it has read it, but nothing a codec holds
    // may outlive this call (a reload drops it): it decodes a copy, and only a whole frame
    // is taken off `unread`.
    let mut probe = unread.clone();
    let Some(frame) = frames(max).decode(&mut probe).map_err(|e| format!("a bad frame ({e})"))? else {
        return Ok(None);
    };
    let size = unread.len() - probe.len();
    unread.advance(size);
    let message = codec::decode(&frame).map_err(|e| format!("a malformed message ({e})"))?;
    Ok(Some((message, size)))
}

/// Puts `message` back at the front of `unread` (its handling must wait for a later try).
pub(crate) fn unread_again(unread: &mut BytesMut, message: &Message) -> Result<(), String> {
    let mut front = BytesMut::new();
    push(&mut front, message)?;
    front.extend_from_slice(unread);
    *unread = front;
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::{HELLO_FRAME, MAX_FRAME, Message, next, push, unread_again};

    #[test]
    fn frames_round_trip_whole_or_wait_for_the_rest() {
        let mut out = BytesMut::new();
        push(&mut out, &Message::Snapshot { seq: 7, payload: vec![1, 2, 3] }).expect("push");
        push(&mut out, &Message::Input { payload: vec![9] }).expect("push");
        let mut half = out.split_to(5);
        assert_eq!(next(&mut half, MAX_FRAME), Ok(None), "a frame cut short waits");
        half.extend_from_slice(&out);
        let first = next(&mut half, MAX_FRAME).expect("decodes").expect("whole");
        assert_eq!(first.0, Message::Snapshot { seq: 7, payload: vec![1, 2, 3] });
        unread_again(&mut half, &first.0).expect("back");
        assert_eq!(
            next(&mut half, MAX_FRAME).expect("again").map(|m| m.0),
            Some(Message::Snapshot { seq: 7, payload: vec![1, 2, 3] })
        );
        assert_eq!(next(&mut half, MAX_FRAME).expect("second").map(|m| m.0), Some(Message::Input { payload: vec![9] }));
        assert!(half.is_empty());
    }

    #[test]
    fn garbage_and_oversized_frames_are_errors() {
        let mut garbage = BytesMut::from(&[0, 0, 0, 3, 0xc1, 0xc1, 0xc1][..]);
        assert!(next(&mut garbage, MAX_FRAME).is_err_and(|e| e.contains("malformed")));
        let mut huge = BytesMut::from(&(MAX_FRAME as u32 + 1).to_be_bytes()[..]);
        assert!(next(&mut huge, MAX_FRAME).is_err_and(|e| e.contains("bad frame")));
        let mut before_hello = BytesMut::new();
        push(&mut before_hello, &Message::Input { payload: vec![0; HELLO_FRAME] }).expect("push");
        assert!(next(&mut before_hello.clone(), HELLO_FRAME).is_err_and(|e| e.contains("bad frame")));
        assert!(next(&mut before_hello, MAX_FRAME).is_ok_and(|m| m.is_some()), "fine after the hello");
    }
}
