/** The one cleaning rule for text from outside lives in core (docs/formats.md, "Text from outside"). */
export { cleanText, plainLine } from '@capi/core';
