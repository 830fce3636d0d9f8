//! The attribute macro behind `provider_sdk::typed::resource`; see that item for its use.
//!
//! Authors depend on `provider-sdk`, which re-exports the macro; this crate is not used
//! directly.

use proc_macro::TokenStream;
use quote::{ToTokens, quote};
use syn::{ImplItem, ItemImpl, parse_macro_input, parse_quote};

/// Put on an `impl Resource for T` block instead of `#[async_trait]`: the SDK then knows from
/// the block itself whether `update`, `read` and `import` are implemented, so the two can never
/// disagree.
///
/// It applies `async_trait` and adds the hidden `CAPABILITIES` constant saying which of
/// `update`, `read` and `import` the block defines.
#[proc_macro_attribute]
pub fn resource(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        let attr = proc_macro2::TokenStream::from(attr);
        return syn::Error::new_spanned(attr, "`#[resource]` takes no arguments")
            .to_compile_error()
            .into();
    }
    let mut block = parse_macro_input!(item as ItemImpl);
    if block.trait_.is_none() {
        return syn::Error::new_spanned(
            block.self_ty.to_token_stream(),
            "`#[resource]` goes on an `impl Resource for YourType` block",
        )
        .to_compile_error()
        .into();
    }
    let defines = |name: &str| {
        block
            .items
            .iter()
            .any(|item| matches!(item, ImplItem::Fn(f) if f.sig.ident == name))
    };
    let (update, read, import) = (defines("update"), defines("read"), defines("import"));
    if let Some(written) = block.items.iter().find_map(|item| match item {
        ImplItem::Const(c) if c.ident == "CAPABILITIES" || c.ident == "UPDATES_IN_PLACE" => {
            Some(c.ident.clone())
        }
        _ => None,
    }) {
        return syn::Error::new_spanned(
            &written,
            format!(
                "`{written}` is not written by hand: `#[resource]` derives it from whether this block defines `update`, `read` and `import`"
            ),
        )
        .to_compile_error()
        .into();
    }
    block.items.push(parse_quote! {
        #[doc(hidden)]
        const CAPABILITIES: ::provider_sdk::typed::Capabilities =
            ::provider_sdk::typed::Capabilities::__from_impl(#update, #read, #import);
    });
    quote!(#[::provider_sdk::async_trait] #block).into()
}
