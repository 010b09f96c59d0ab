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

    #[test]
    fn a_hello_nested_deeper_than_the_codec_reads_closes_the_connection_not_the_process() {
        // `{"Hello": {"protocol": 1, "x": [[[...]]]}}`: serde skips the unknown field by
        // recursing into it; on a worker's stack in a debug build 1024 levels overflowed.
        let mut body = b"\x81\xa5Hello\x82\xa8protocol\x01\xa1x".to_vec();
        body.extend(std::iter::repeat_n(0x91, 900));
        body.push(0xc0);
        let mut unread = BytesMut::from(&u32::try_from(body.len()).unwrap_or(0).to_be_bytes()[..]);
        unread.extend_from_slice(&body);
        let error = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || next(&mut unread, HELLO_FRAME))
            .expect("a thread")
            .join()
            .expect("no stack overflow");
        assert!(error.is_err_and(|e| e.contains("depth")));
    }

    fn message() -> impl proptest::strategy::Strategy<Value = Message> {
        use proptest::prelude::*;
        prop_oneof![
            any::<u32>().prop_map(|protocol| Message::Hello { protocol }),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(|payload| Message::Welcome { payload }),
            (any::<u64>(), proptest::collection::vec(any::<u8>(), 0..256))
                .prop_map(|(seq, payload)| Message::Snapshot { seq, payload }),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(|payload| Message::Input { payload }),
            ".{0,40}".prop_map(|reason| Message::Goodbye { reason }),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn messages_round_trip_through_frames_cut_anywhere(
            messages in proptest::collection::vec(message(), 1..6),
            cut in proptest::prelude::any::<proptest::sample::Index>(),
        ) {
            let mut all = BytesMut::new();
            for message in &messages {
                push(&mut all, message).expect("push");
            }
            // What arrived so far, then the rest: whole messages only, in order.
            let at = cut.index(all.len() + 1);
            let mut unread = BytesMut::from(&all[..at]);
            let mut got = Vec::new();
            while let Some((message, _)) = next(&mut unread, MAX_FRAME).expect("decodes") {
                got.push(message);
            }
            unread.extend_from_slice(&all[at..]);
            while let Some((message, _)) = next(&mut unread, MAX_FRAME).expect("decodes") {
                got.push(message);
            }
            proptest::prop_assert_eq!(got, messages);
            proptest::prop_assert!(unread.is_empty());
        }

        #[test]
        fn random_bytes_never_panic_and_never_take_more_than_given(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            before_hello in proptest::prelude::any::<bool>(),
        ) {
            let max = if before_hello { HELLO_FRAME } else { MAX_FRAME };
            let mut unread = BytesMut::from(&bytes[..]);
            for _ in 0..=bytes.len() / 4 {
                let left = unread.len();
                match next(&mut unread, max) {
                    Ok(Some((_, size))) => proptest::prop_assert!(size >= 4 && size <= left),
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}
