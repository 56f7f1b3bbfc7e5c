//! Only `Principal::authorize` makes a `Scope`: neither a struct literal nor a conversion from
//! a scope proved for something else compiles elsewhere.

use meetvault_core::access::Scope;
use meetvault_core::access::proof::{AnyCaller, MeetingsDelete};

pub fn forge() -> Scope<MeetingsDelete> {
    Scope { proof: std::marker::PhantomData }
}

pub fn promote(me: Scope<AnyCaller>) -> Scope<MeetingsDelete> {
    me.into()
}

fn main() {}
