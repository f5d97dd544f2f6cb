//! Events: decoding CloudTrail records in every form they arrive in, and resolving each to the
//! resources it touched.

mod creator;
mod input;
mod macie;
mod record;
mod resolve;

pub use input::{
    decode_bytes, decode_one, decode_text, frame_input, read_limited, read_text, ApiCall,
    DecodeResult, InputEvent, Location, MacieFindingEvent, TextProblem, MAX_INPUT_BYTES,
};

pub use creator::{Creator, CreatorKind};
pub(crate) use input::DecodeError;
pub use macie::{MacieFinding, SensitiveDataEvidence, MACIE_CATEGORIES};
pub(crate) use record::CloudTrailRecord;
pub use record::RecordHeader;
pub(crate) use resolve::{is_create_name, is_read_only_name, Actor, EventHeader, TagUpdate};
pub use resolve::{
    Change, Resolution, ResolveOptions, ResolvedBy, Resolver, ResourceRef, INFERRED_NOTE,
    MAX_RESOURCES_PER_RECORD,
};
