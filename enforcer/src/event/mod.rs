//! Events: decoding CloudTrail records in every form they arrive in, and resolving each to the
//! resources it touched.

mod input;
mod record;
mod resolve;

pub use input::{
    decode_bytes, decode_one, decode_text, frame_input, read_limited, read_text, ApiCall,
    DecodeError, DecodeResult, Envelope, Frame, Framed, InputEvent, InputText, Location,
    TagChangeEvent, TextProblem, MAX_INPUT_BYTES,
};
pub use record::{
    CloudTrailRecord, LenientStr, RecordHeader, SessionContext, SessionContextHeader,
    SessionIssuer, SessionIssuerHeader, UserIdentity, UserIdentityHeader,
};
pub use resolve::{
    is_create_name, is_read_only_name, Actor, Change, EventHeader, IgnoreReason, Resolution,
    ResolveOptions, ResolvedBy, Resolver, ResourceRef, TagUpdate, INFERRED_NOTE,
    MAX_RESOURCES_PER_RECORD,
};
