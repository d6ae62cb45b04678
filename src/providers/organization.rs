//! The accounts of the AWS Organization (`drift --organization`): which active accounts no
//! stack covers. ListAccounts is answered in the management account or a delegated
//! administrator account (Organizations API reference).

use anyhow::{anyhow, Result};

use super::{describe_sdk_error, Aws};

/// An account of the organization: its id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationAccount {
    pub id: String,
    pub name: String,
}

/// The organization's active accounts (a page per 20 accounts; `State` where the API gives it,
/// else the older `Status`).
pub async fn active_accounts(aws: &Aws) -> Result<Vec<OrganizationAccount>> {
    let mut pages = aws.organizations.list_accounts().into_paginator().send();
    let mut accounts = vec![];
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow!(
                "listing the organization's accounts (organizations:ListAccounts, from the management or a delegated administrator account) failed: {}",
                describe_sdk_error(&e)
            )
        })?;
        for account in page.accounts() {
            let active = match (account.state(), account.status()) {
                (Some(state), _) => state.as_str() == "ACTIVE",
                (None, Some(status)) => status.as_str() == "ACTIVE",
                (None, None) => true,
            };
            if let (true, Some(id)) = (active, account.id()) {
                accounts.push(OrganizationAccount {
                    id: id.to_string(),
                    name: account.name().unwrap_or_default().to_string(),
                });
            }
        }
    }
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(accounts)
}
