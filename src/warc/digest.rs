//! The SHA-1 of a response's payload and of its whole block (the HTTP head,
//! then the payload), in one pass over the payload. The two digests were the
//! largest single cost of archiving a report page, and a core with SHA-NI
//! runs two independent SHA-1 streams side by side in little more than the
//! time of one (`sha1-pair`).

const BLOCK: usize = 64;

/// SHA-1 of `body`, and SHA-1 of `head` followed by `body`.
pub(super) fn payload_and_block(head: &[u8], body: &[u8]) -> ([u8; 20], [u8; 20]) {
    let mut payload = Stream::default();
    let mut block = Stream::default();
    let head_rest = block.blocks(head);
    // The block stream's first block after the head's straddles head and
    // body (or holds all that is left); past it, its blocks are the body's
    // from `take` on.
    let take = ((BLOCK - head_rest.len()) % BLOCK).min(body.len());
    let (joined, block_body) = body.split_at(take);
    let mut first = [0u8; BLOCK];
    let straddle = head_rest.len() + take;
    first[..head_rest.len()].copy_from_slice(head_rest);
    first[head_rest.len()..straddle].copy_from_slice(joined);
    let first_rest = block.blocks(&first[..straddle]);
    let paired = block_body.len() / BLOCK * BLOCK;
    let (side_by_side, payload_after) = body.split_at(paired);
    let (block_side, block_after) = block_body.split_at(paired);
    sha1_pair::compress_pair(
        &mut payload.state,
        &mut block.state,
        side_by_side,
        block_side,
    );
    payload.len += paired as u64;
    block.len += paired as u64;
    let payload_rest = payload.blocks(payload_after);
    // A straddling block left short had the whole body: nothing follows it.
    let block_rest = match first_rest {
        [] => block.blocks(block_after),
        short => short,
    };
    (payload.finish(payload_rest), block.finish(block_rest))
}

/// One SHA-1 computation: its state and the bytes compressed into it.
struct Stream {
    state: [u32; 5],
    len: u64,
}

impl Default for Stream {
    fn default() -> Self {
        Stream {
            state: [
                0x6745_2301,
                0xEFCD_AB89,
                0x98BA_DCFE,
                0x1032_5476,
                0xC3D2_E1F0,
            ],
            len: 0,
        }
    }
}

impl Stream {
    /// Compress the whole blocks of `data`; returns what is left over.
    fn blocks<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        let whole = data.len() / BLOCK * BLOCK;
        sha1_pair::compress(&mut self.state, &data[..whole]);
        self.len += whole as u64;
        &data[whole..]
    }

    /// The digest, once `rest` (less than a block) is padded in.
    fn finish(mut self, rest: &[u8]) -> [u8; 20] {
        let bits = (self.len + rest.len() as u64).wrapping_mul(8);
        let mut tail = [0u8; 2 * BLOCK];
        tail[..rest.len()].copy_from_slice(rest);
        tail[rest.len()] = 0x80;
        let end = if rest.len() + 9 <= BLOCK {
            BLOCK
        } else {
            2 * BLOCK
        };
        tail[end - 8..end].copy_from_slice(&bits.to_be_bytes());
        self.blocks(&tail[..end]);
        let mut out = [0u8; 20];
        for (word, bytes) in self.state.iter().zip(out.chunks_exact_mut(4)) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha1::{Digest, Sha1};

    fn both(head: &[u8], body: &[u8]) -> ([u8; 20], [u8; 20]) {
        let mut block = Sha1::new();
        block.update(head);
        block.update(body);
        (Sha1::digest(body).into(), block.finalize().into())
    }

    #[test]
    fn the_digests_are_sha1_of_the_payload_and_of_head_and_payload() {
        let bytes: Vec<u8> = (0..3000u32).map(|i| (i * 131 + i / 7) as u8).collect();
        for head_len in [0, 1, 55, 56, 63, 64, 65, 119, 128, 300] {
            for body_len in (0..200).chain([447, 448, 1000, 2047, 2600]) {
                let (head, rest) = bytes.split_at(head_len);
                let body = &rest[..body_len];
                assert_eq!(
                    payload_and_block(head, body),
                    both(head, body),
                    "head {head_len} bytes, body {body_len}"
                );
            }
        }
    }
}
