//! Text XML to Android Binary XML, as Android's `xml2abx` does, after the
//! format AOSP's `BinaryXmlSerializer` documents: the `ABX\0` magic, then
//! one token per event (low four bits the event, high four bits the data
//! type), tag and attribute names interned, numbers big-endian.
//!
//! Attribute types follow what Android's package manager writes for
//! `packages.xml`: version codes and user ids as numbers, timestamps
//! (`ft`, `it`, `ut`) as hex longs, the rest as strings.

#![allow(dead_code)]

use quick_xml::events::Event;
use quick_xml::Reader;

const START_DOCUMENT: u8 = 0;
const END_DOCUMENT: u8 = 1;
const START_TAG: u8 = 2;
const END_TAG: u8 = 3;
const ATTRIBUTE: u8 = 15;
const TYPE_NULL: u8 = 1 << 4;
const TYPE_STRING: u8 = 2 << 4;
const TYPE_STRING_INTERNED: u8 = 3 << 4;
const TYPE_INT: u8 = 6 << 4;
const TYPE_LONG: u8 = 8 << 4;
const TYPE_LONG_HEX: u8 = 9 << 4;

struct Out {
    bytes: Vec<u8>,
    interned: Vec<String>,
}

impl Out {
    fn utf(&mut self, s: &str) {
        self.bytes
            .extend_from_slice(&u16::try_from(s.len()).unwrap().to_be_bytes());
        self.bytes.extend_from_slice(s.as_bytes());
    }

    fn interned(&mut self, s: &str) {
        match self.interned.iter().position(|x| x == s) {
            Some(i) => self
                .bytes
                .extend_from_slice(&u16::try_from(i).unwrap().to_be_bytes()),
            None => {
                self.bytes.extend_from_slice(&0xFFFFu16.to_be_bytes());
                self.utf(s);
                self.interned.push(s.to_string());
            }
        }
    }

    fn attribute(&mut self, name: &str, value: &str) {
        let long = value.parse::<i64>().ok();
        match name {
            "version" if long.is_some() => {
                self.bytes.push(ATTRIBUTE | TYPE_LONG);
                self.interned(name);
                self.bytes.extend_from_slice(&long.unwrap().to_be_bytes());
            }
            "userId" | "sharedUserId" | "publicFlags" | "privateFlags" if long.is_some() => {
                self.bytes.push(ATTRIBUTE | TYPE_INT);
                self.interned(name);
                let v = i32::try_from(long.unwrap()).unwrap();
                self.bytes.extend_from_slice(&v.to_be_bytes());
            }
            "ft" | "it" | "ut" => {
                self.bytes.push(ATTRIBUTE | TYPE_LONG_HEX);
                self.interned(name);
                let v = i64::from_str_radix(value, 16).unwrap();
                self.bytes.extend_from_slice(&v.to_be_bytes());
            }
            "name" | "package" => {
                self.bytes.push(ATTRIBUTE | TYPE_STRING_INTERNED);
                self.interned(name);
                self.interned(value);
            }
            _ => {
                self.bytes.push(ATTRIBUTE | TYPE_STRING);
                self.interned(name);
                self.utf(value);
            }
        }
    }
}

/// The ABX form of a text XML document.
pub fn xml_to_abx(xml: &str) -> Vec<u8> {
    let mut out = Out {
        bytes: b"ABX\0".to_vec(),
        interned: Vec::new(),
    };
    out.bytes.push(START_DOCUMENT | TYPE_NULL);
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => start(&mut out, &e),
            Event::Empty(e) => {
                start(&mut out, &e);
                out.bytes.push(END_TAG | TYPE_STRING_INTERNED);
                out.interned(e.name().as_ref());
            }
            Event::End(e) => {
                out.bytes.push(END_TAG | TYPE_STRING_INTERNED);
                out.interned(e.name().as_ref());
            }
            Event::Eof => break,
            // Whitespace between elements: Android's serializer writes none.
            _ => {}
        }
    }
    out.bytes.push(END_DOCUMENT | TYPE_NULL);
    out.bytes
}

fn start(out: &mut Out, e: &quick_xml::events::BytesStart<'_>) {
    out.bytes.push(START_TAG | TYPE_STRING_INTERNED);
    out.interned(e.name().as_ref());
    for a in e.attributes() {
        let a = a.unwrap();
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .unwrap();
        out.attribute(a.key.as_ref(), &v);
    }
}
