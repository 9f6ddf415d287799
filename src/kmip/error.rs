//! The error every operation returns: a KMIP Result Reason and a message
//! for the client. Messages name the problem and never carry secrets.

use super::enums::ResultReason;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{}: {message}", reason.name())]
pub struct KmipError {
    pub reason: ResultReason,
    pub message: String,
}

impl KmipError {
    pub fn new(reason: ResultReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
    pub fn invalid_message(message: impl Into<String>) -> Self {
        Self::new(ResultReason::InvalidMessage, message)
    }
    pub fn invalid_field(message: impl Into<String>) -> Self {
        Self::new(ResultReason::InvalidField, message)
    }
    pub fn missing_data(message: impl Into<String>) -> Self {
        Self::new(ResultReason::MissingData, message)
    }
}

pub type KmipResult<T> = Result<T, KmipError>;
