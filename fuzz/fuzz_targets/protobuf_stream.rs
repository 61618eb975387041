#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kubecto_fuzz::rest_core::protobuf_stream(data));
