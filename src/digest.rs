//! Digests of what pipectl reads: a stack file's text (to notice an edit before a saved plan is
//! applied) and a live object (to notice a change since it was planned).

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
