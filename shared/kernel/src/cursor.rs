//! Opaque keyset-pagination cursors: the position after the last row of a page, base64url-encoded so clients
//! treat it as a token rather than something to build by hand.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// An opaque cursor wrapping a short position string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one this API issued")]
pub struct CursorError;

impl Cursor {
    /// Longest position a cursor carries; anything longer was not issued by Niaga.
    const MAX_POSITION: usize = 256;

    pub fn from_position(position: &str) -> Self {
        Cursor(position.to_string())
    }

    pub fn position(&self) -> &str {
        &self.0
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }

    pub fn decode(token: &str) -> Result<Self, CursorError> {
        if token.len() > Self::MAX_POSITION * 2 {
            return Err(CursorError);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| CursorError)?;
        let s = String::from_utf8(bytes).map_err(|_| CursorError)?;
        if s.is_empty() || s.len() > Self::MAX_POSITION {
            return Err(CursorError);
        }
        Ok(Cursor(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_cursor_round_trips(pos in "[ -~]{1,200}") {
            let c = Cursor::from_position(&pos);
            prop_assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        }

        #[test]
        fn decoding_garbage_never_panics(token in ".{0,600}") {
            let _ = Cursor::decode(&token);
        }
    }
}
