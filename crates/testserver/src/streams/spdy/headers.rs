//! SPDY/3 name/value header blocks: their layout, and the zlib stream that carries them.
//!
//! Each direction of a session compresses all its header blocks as one zlib stream primed
//! with the SPDY/3 dictionary (draft-mbelshe-httpbis-spdy-00 §2.6.10.1), each block ending
//! in a sync flush, so the compressor and decompressor keep their state from one frame to
//! the next. Header names are lowercase; a value holding several values separates them
//! with NUL, as spdystream (which client-go uses) writes them.

use std::sync::LazyLock;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// A header block: (name, value) pairs, names lowercased, in the order received.
pub(crate) type Headers = Vec<(String, String)>;

/// At most this many pairs in a block, and this many bytes once decompressed: a client
/// cannot make the server hold more than this for one frame.
const MAX_PAIRS: usize = 1024;
pub(crate) const MAX_DECOMPRESSED: usize = 256 * 1024;

/// The words the SPDY/3 dictionary holds, each preceded by its length (4 bytes, big-endian).
const DICTIONARY_WORDS: &[&str] = &[
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];

/// The text that follows the words in the dictionary, without length prefixes.
const DICTIONARY_TAIL: &str = concat!(
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request",
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented",
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ",
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,",
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=",
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
);

/// The SPDY/3 header compression dictionary (1,423 bytes, Adler-32 0xe3c6a7c2).
pub(crate) static DICTIONARY: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut dict = Vec::with_capacity(1423);
    for word in DICTIONARY_WORDS {
        dict.extend_from_slice(&(word.len() as u32).to_be_bytes());
        dict.extend_from_slice(word.as_bytes());
    }
    dict.extend_from_slice(DICTIONARY_TAIL.as_bytes());
    dict
});

/// Why a header block could not be read or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HeaderError {
    #[error("the header block is not valid zlib data: {0}")]
    Zlib(String),
    #[error("the header block decompresses to more than {MAX_DECOMPRESSED} bytes")]
    TooLarge,
    #[error("the header block is cut short: {0}")]
    Truncated(&'static str),
    #[error("the header block declares {0} pairs, more than the {MAX_PAIRS} allowed")]
    TooManyPairs(u32),
    #[error("the header block holds a name or value that is not UTF-8")]
    NotUtf8,
    #[error("the header block has {0} bytes after its last pair")]
    Trailing(usize),
}

/// Lays out `headers` as a name/value block (uncompressed).
pub(crate) fn encode_block(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    for (name, value) in headers {
        for part in [name.to_ascii_lowercase().as_str(), *value] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
    }
    out
}

/// Reads a name/value block (uncompressed). A value with NUL separators becomes one pair
/// per value, as Go's `http.Header` holds them.
pub(crate) fn decode_block(mut block: &[u8]) -> Result<Headers, HeaderError> {
    let count = take_u32(&mut block, "the number of pairs")?;
    if count as usize > MAX_PAIRS {
        return Err(HeaderError::TooManyPairs(count));
    }
    let mut headers = Headers::new();
    for _ in 0..count {
        let name = take_str(&mut block, "a header name")?.to_ascii_lowercase();
        let value = take_str(&mut block, "a header value")?;
        for v in value.split('\0') {
            headers.push((name.clone(), v.to_owned()));
        }
    }
    if !block.is_empty() {
        return Err(HeaderError::Trailing(block.len()));
    }
    Ok(headers)
}

fn take_u32(block: &mut &[u8], what: &'static str) -> Result<u32, HeaderError> {
    let (head, rest) = block
        .split_first_chunk::<4>()
        .ok_or(HeaderError::Truncated(what))?;
    *block = rest;
    Ok(u32::from_be_bytes(*head))
}

fn take_str<'a>(block: &mut &'a [u8], what: &'static str) -> Result<&'a str, HeaderError> {
    let len = take_u32(block, what)? as usize;
    if block.len() < len {
        return Err(HeaderError::Truncated(what));
    }
    let (text, rest) = block.split_at(len);
    *block = rest;
    std::str::from_utf8(text).map_err(|_| HeaderError::NotUtf8)
}

/// The compressing side of one direction of a session.
pub(crate) struct Compressor(Compress);

impl Compressor {
    pub(crate) fn new() -> Compressor {
        let mut z = Compress::new(Compression::best(), true);
        // Only fails on a stream that has already begun, which this one has not.
        let _ = z.set_dictionary(&DICTIONARY);
        Compressor(z)
    }

    /// Compresses one block, ending it with a sync flush.
    pub(crate) fn compress(&mut self, block: &[u8]) -> Result<Vec<u8>, HeaderError> {
        let mut out = Vec::with_capacity(block.len() / 2 + 64);
        let mut scratch = [0u8; 4096];
        let start_in = self.0.total_in();
        loop {
            let consumed = (self.0.total_in() - start_in) as usize;
            let before_out = self.0.total_out();
            self.0
                .compress(&block[consumed..], &mut scratch, FlushCompress::Sync)
                .map_err(|e| HeaderError::Zlib(e.to_string()))?;
            let produced = (self.0.total_out() - before_out) as usize;
            out.extend_from_slice(&scratch[..produced]);
            // zlib's rule: the flush is complete once all input is in and the output
            // space was not filled.
            if (self.0.total_in() - start_in) as usize == block.len() && produced < scratch.len() {
                return Ok(out);
            }
        }
    }
}

/// The decompressing side of one direction of a session.
pub(crate) struct Decompressor(Decompress);

impl Decompressor {
    pub(crate) fn new() -> Decompressor {
        Decompressor(Decompress::new(true))
    }

    /// Decompresses one block (the rest of a SYN_STREAM, SYN_REPLY or HEADERS frame),
    /// supplying the dictionary when the stream asks for it.
    pub(crate) fn decompress(&mut self, input: &[u8]) -> Result<Vec<u8>, HeaderError> {
        let mut out = Vec::with_capacity(input.len() * 2 + 64);
        let mut scratch = [0u8; 4096];
        let start_in = self.0.total_in();
        loop {
            let consumed = (self.0.total_in() - start_in) as usize;
            let before_out = self.0.total_out();
            let status = self
                .0
                .decompress(&input[consumed..], &mut scratch, FlushDecompress::Sync);
            let produced = (self.0.total_out() - before_out) as usize;
            out.extend_from_slice(&scratch[..produced]);
            if out.len() > MAX_DECOMPRESSED {
                return Err(HeaderError::TooLarge);
            }
            match status {
                Ok(Status::StreamEnd) => {
                    return Err(HeaderError::Zlib("the zlib stream ended".to_owned()));
                }
                Ok(Status::Ok | Status::BufError) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.0
                        .set_dictionary(&DICTIONARY)
                        .map_err(|e| HeaderError::Zlib(e.to_string()))?;
                    continue;
                }
                Err(e) => return Err(HeaderError::Zlib(e.to_string())),
            }
            let now_in = (self.0.total_in() - start_in) as usize;
            if now_in == input.len() && produced < scratch.len() {
                return Ok(out);
            }
            if now_in == consumed && produced == 0 {
                return Err(HeaderError::Zlib(
                    "the block does not end where its frame ends".to_owned(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adler32(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &byte in data {
            a = (a + u32::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
    }

    #[test]
    fn the_dictionary_is_the_spdy3_one() {
        // Length and checksum of the dictionary in spdystream's spdy/dictionary.go.
        assert_eq!(DICTIONARY.len(), 1423);
        assert_eq!(adler32(&DICTIONARY), 0xe3c6a7c2);
    }

    #[test]
    fn blocks_round_trip_through_one_zlib_stream() {
        let mut c = Compressor::new();
        let mut d = Decompressor::new();
        let first = encode_block(&[
            ("streamType", "error"),
            ("port", "8080"),
            ("requestID", "0"),
        ]);
        let second = encode_block(&[("streamtype", "data"), ("port", "8080"), ("requestid", "0")]);
        let empty = encode_block(&[]);
        for block in [&first, &second, &empty, &first] {
            let z = c.compress(block).unwrap();
            assert_eq!(&d.decompress(&z).unwrap(), block);
        }
        let headers = decode_block(&first).unwrap();
        assert_eq!(headers[0], ("streamtype".to_owned(), "error".to_owned()));
        assert_eq!(headers[2], ("requestid".to_owned(), "0".to_owned()));
    }

    #[test]
    fn a_block_larger_than_an_output_step_round_trips() {
        let value = "v".repeat(100_000);
        let block = encode_block(&[("big", &value)]);
        let z = Compressor::new().compress(&block).unwrap();
        assert_eq!(Decompressor::new().decompress(&z).unwrap(), block);
    }

    #[test]
    fn a_zlib_bomb_is_refused() {
        let block = vec![0u8; MAX_DECOMPRESSED * 4];
        let z = Compressor::new().compress(&block).unwrap();
        assert!(z.len() < 4096);
        assert!(matches!(
            Decompressor::new().decompress(&z),
            Err(HeaderError::TooLarge)
        ));
    }

    #[test]
    fn values_split_on_nul_and_bad_blocks_say_why() {
        let block = encode_block(&[("x", "a\0b")]);
        assert_eq!(decode_block(&block).unwrap().len(), 2);
        assert!(matches!(
            decode_block(&block[..block.len() - 1]),
            Err(HeaderError::Truncated("a header value"))
        ));
        assert!(matches!(
            decode_block(&u32::MAX.to_be_bytes()),
            Err(HeaderError::TooManyPairs(_))
        ));
        assert!(matches!(
            Decompressor::new().decompress(b"not zlib at all"),
            Err(HeaderError::Zlib(_))
        ));
    }
}
