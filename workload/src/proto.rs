//! The request/response wire format: fixed 64-byte messages, little endian.
//!
//! ```text
//! request : "CWRQ" | version u32 | seq u64 | zero padding to 64 bytes
//! reply   : "CWRP" | version u32 | seq u64 | server work_us u32 | pad
//! ```
//! Fixed-size messages keep each direction one small TCP segment, like a
//! short database query and its answer.

/// Size of every message.
pub const MSG_LEN: usize = 64;
/// Protocol version.
pub const VERSION: u32 = 1;
const REQ_MAGIC: &[u8; 4] = b"CWRQ";
const REP_MAGIC: &[u8; 4] = b"CWRP";

/// One message buffer.
pub type Msg = [u8; MSG_LEN];

fn put_u32(m: &mut Msg, at: usize, v: u32) {
    m[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(m: &mut Msg, at: usize, v: u64) {
    m[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
fn get_u32(m: &Msg, at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&m[at..at + 4]);
    u32::from_le_bytes(b)
}
fn get_u64(m: &Msg, at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&m[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Encodes request `seq`.
pub fn request(seq: u64) -> Msg {
    let mut m = [0u8; MSG_LEN];
    m[..4].copy_from_slice(REQ_MAGIC);
    put_u32(&mut m, 4, VERSION);
    put_u64(&mut m, 8, seq);
    m
}

/// Decodes a request: its sequence number.
pub fn parse_request(m: &Msg) -> Result<u64, String> {
    if &m[..4] != REQ_MAGIC {
        return Err(format!(
            "not a cw-workload request (first bytes {:02x?}; is the client another program?)",
            &m[..4]
        ));
    }
    let v = get_u32(m, 4);
    if v != VERSION {
        return Err(format!("request of protocol version {v}, this server speaks {VERSION}"));
    }
    Ok(get_u64(m, 8))
}

/// Encodes the reply to `seq`.
pub fn reply(seq: u64, work_us: u32) -> Msg {
    let mut m = [0u8; MSG_LEN];
    m[..4].copy_from_slice(REP_MAGIC);
    put_u32(&mut m, 4, VERSION);
    put_u64(&mut m, 8, seq);
    put_u32(&mut m, 16, work_us);
    m
}

/// Decodes a reply: `(seq, server work_us)`.
pub fn parse_reply(m: &Msg) -> Result<(u64, u32), String> {
    if &m[..4] != REP_MAGIC {
        return Err(format!(
            "not a cw-workload reply (first bytes {:02x?}; is the server another program?)",
            &m[..4]
        ));
    }
    let v = get_u32(m, 4);
    if v != VERSION {
        return Err(format!("reply of protocol version {v}, this client speaks {VERSION}"));
    }
    Ok((get_u64(m, 8), get_u32(m, 16)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_mixups() {
        assert_eq!(parse_request(&request(77)), Ok(77));
        assert_eq!(parse_reply(&reply(77, 500)), Ok((77, 500)));
        assert!(parse_request(&reply(1, 1)).is_err());
        assert!(parse_reply(&request(1)).is_err());
        let mut m = request(1);
        m[4] = 9;
        assert!(parse_request(&m).unwrap_err().contains("version"));
    }
}
