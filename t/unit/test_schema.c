/*
 * Unit tests of the request rules (src/sg_schema.c) through the whole
 * pipeline (src/sg_body.c): one row per rule, expected code and path.
 */

#include <string.h>

#include "sg_body.h"
#include "tap.h"


/* the built-in schemas the rows name, compiled once in main() */
enum { SG_SCHEMA_PAYOUT = 0, SG_SCHEMA_OBJECT };

static sg_schema_t  *schemas[2];


typedef struct {
    const char  *name;
    int          schema;
    const char  *body;
    sg_code_t    code;
    const char  *path;      /* expected err.path, or canonical output */
} schema_case_t;


#define CARD  "\"payment_method\":{\"type\":\"card\",\"card\":"
/* 128 bytes, and 64 two-byte characters (128 bytes once decoded) */
#define S16   "ssssssssssssssss"
#define S128  S16 S16 S16 S16 S16 S16 S16 S16
#define E8    "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
#define E64   E8 E8 E8 E8 E8 E8 E8 E8
#define OK_AMOUNT  "\"amount_details\":{\"amount\":10000,\"currency\":\"usd\"}"


static const schema_case_t  cases[] = {

    /* the top level */

    { "a minimal payout is accepted", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"3230\"}", SG_OK, "{\"session_id\":\"3230\"}" },

    { "the body must be an object", SG_SCHEMA_PAYOUT,
      "[{\"session_id\":\"1\"}]", SG_ERR_INVALID_REQUEST, "" },

    { "a string body is refused", SG_SCHEMA_PAYOUT,
      "\"x\"", SG_ERR_INVALID_REQUEST, "" },

    { "an unknown top-level member is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"ammount_details\":{}}",
      SG_ERR_INVALID_REQUEST, "ammount_details" },

    /* issue 10: payout_details is payment_method's other name */

    { "payout_details is accepted and forwarded under its own name",
      SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payout_details\":{\"type\":\"card\","
      "\"card\":{\"type\":\"tokenized_card\",\"tokenized_card\":"
      "{\"token\":\"t\"}}}}", SG_OK,
      "{\"payout_details\":{\"card\":{\"tokenized_card\":{\"token\":\"t\"},"
      "\"type\":\"tokenized_card\"},\"type\":\"card\"},\"session_id\":\"1\"}" },

    { "payout_details has payment_method's rules", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payout_details\":{}}",
      SG_ERR_INVALID_REQUEST, "payout_details.type" },

    { "payment_method and payout_details together are refused",
      SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payout_details\":{\"type\":\"recurrent\","
      "\"recurrent\":{\"token\":\"t\"}},\"payment_method\":"
      "{\"type\":\"recurrent\",\"recurrent\":{\"token\":\"t\"}}}",
      SG_ERR_INVALID_REQUEST, "payout_details" },

    { "an unknown member that looks like data is not echoed",
      SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"4111111111111111\":1}",
      SG_ERR_INVALID_REQUEST, "<offset 18>" },

    { "session_id is required", SG_SCHEMA_PAYOUT,
      "{\"metadata\":1}", SG_ERR_INVALID_REQUEST, "session_id" },

    { "session_id must not be empty", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"\"}", SG_ERR_INVALID_REQUEST, "session_id" },

    { "session_id must not be blank", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"  \"}", SG_ERR_INVALID_REQUEST, "session_id" },

    { "session_id must be a string", SG_SCHEMA_PAYOUT,
      "{\"session_id\":3230}", SG_ERR_INVALID_REQUEST, "session_id" },

    { "metadata may be any value", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"metadata\":[1,{\"x\":null}]}", SG_OK,
      "{\"metadata\":[1,{\"x\":null}],\"session_id\":\"1\"}" },

    /* amount_details */

    { "amount and currency are accepted", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," OK_AMOUNT "}", SG_OK,
      "{\"amount_details\":{\"amount\":10000,\"currency\":\"usd\"},"
      "\"session_id\":\"1\"}" },

    { "currency is normalized to lower case", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"currency\":\"USD\",\"amount\":1}}", SG_OK,
      "{\"amount_details\":{\"amount\":1,\"currency\":\"usd\"},"
      "\"session_id\":\"1\"}" },

    { "amount_details must be an object", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":10000}",
      SG_ERR_INVALID_REQUEST, "amount_details" },

    { "amount is required", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":{\"currency\":\"usd\"}}",
      SG_ERR_INVALID_REQUEST, "amount_details.amount" },

    { "currency is required", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":{\"amount\":1}}",
      SG_ERR_INVALID_REQUEST, "amount_details.currency" },

    { "a fractional amount is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":100.5,\"currency\":\"usd\"}}",
      SG_ERR_INVALID_REQUEST, "amount_details.amount" },

    { "10000.0 is refused (not written as an integer)", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":10000.0,\"currency\":\"usd\"}}",
      SG_ERR_INVALID_REQUEST, "amount_details.amount" },

    { "1e4 is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":1e4,\"currency\":\"usd\"}}",
      SG_ERR_INVALID_REQUEST, "amount_details.amount" },

    { "an amount in a string is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":\"10000\",\"currency\":\"usd\"}}",
      SG_ERR_INVALID_REQUEST, "amount_details.amount" },

    { "a zero amount is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":0,\"currency\":\"usd\"}}",
      SG_ERR_INVALID_REQUEST, "amount_details.amount" },

    { "a negative amount is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":-5,\"currency\":\"usd\"}}",
      SG_ERR_INVALID_REQUEST, "amount_details.amount" },

    { "2^53 - 1 is the largest amount", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":9007199254740991,\"currency\":\"usd\"}}", SG_OK,
      "{\"amount_details\":{\"amount\":9007199254740991,\"currency\":"
      "\"usd\"},\"session_id\":\"1\"}" },

    { "2^53 is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":9007199254740992,\"currency\":\"usd\"}}",
      SG_ERR_INVALID_REQUEST, "amount_details.amount" },

    { "a two-letter currency is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":1,\"currency\":\"US\"}}",
      SG_ERR_INVALID_REQUEST, "amount_details.currency" },

    { "a currency with a symbol is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":1,\"currency\":\"U$D\"}}",
      SG_ERR_INVALID_REQUEST, "amount_details.currency" },

    { "a non-ASCII currency is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":1,\"currency\":\"\\u00e9u\"}}",
      SG_ERR_INVALID_REQUEST, "amount_details.currency" },

    /* issue 10: the currency is one of ISO 4217's (iso-codes), any case */

    { "a currency outside ISO 4217 is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":1,\"currency\":\"zzz\"}}",
      SG_ERR_INVALID_REQUEST, "amount_details.currency" },

    { "a currency in mixed case is accepted and lower-cased",
      SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":1,\"currency\":\"RuB\"}}", SG_OK,
      "{\"amount_details\":{\"amount\":1,\"currency\":\"rub\"},"
      "\"session_id\":\"1\"}" },

    { "the last code of the list is accepted", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"amount_details\":"
      "{\"amount\":1,\"currency\":\"ZWL\"}}", SG_OK, NULL },

    /* payment_method */

    { "a bank card with a valid Luhn number is accepted", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"bank_card\","
      "\"bank_card\":{\"number\":\"4111111111111111\"}}}}", SG_OK, NULL },

    { "a card number failing Luhn is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"bank_card\","
      "\"bank_card\":{\"number\":\"4111111111111112\"}}}}",
      SG_ERR_INVALID_REQUEST, "payment_method.card.bank_card.number" },

    { "an 11-digit card number is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"bank_card\","
      "\"bank_card\":{\"number\":\"41111111113\"}}}}",
      SG_ERR_INVALID_REQUEST, "payment_method.card.bank_card.number" },

    { "a 20-digit card number is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"bank_card\","
      "\"bank_card\":{\"number\":\"41111111111111111113\"}}}}",
      SG_ERR_INVALID_REQUEST, "payment_method.card.bank_card.number" },

    { "a card number with spaces is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"bank_card\","
      "\"bank_card\":{\"number\":\"4111 1111 1111 1111\"}}}}",
      SG_ERR_INVALID_REQUEST, "payment_method.card.bank_card.number" },

    { "a card number as a JSON number is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"bank_card\","
      "\"bank_card\":{\"number\":4111111111111111}}}}",
      SG_ERR_INVALID_REQUEST, "payment_method.card.bank_card.number" },

    { "payment_method.type is required", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payment_method\":{}}",
      SG_ERR_INVALID_REQUEST, "payment_method.type" },

    { "card is required for type card", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payment_method\":{\"type\":\"card\"}}",
      SG_ERR_INVALID_REQUEST, "payment_method.card" },

    { "card.type must be one of the documented types", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"magic\"}}}",
      SG_ERR_INVALID_REQUEST, "payment_method.card.type" },

    { "bank_card is required for a bank card", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"bank_card\"}}}",
      SG_ERR_INVALID_REQUEST, "payment_method.card.bank_card" },

    { "an encrypted card needs number_hash", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"encrypted_card\","
      "\"encrypted_card\":{}}}}",
      SG_ERR_INVALID_REQUEST,
      "payment_method.card.encrypted_card.number_hash" },

    { "an empty number_hash is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"encrypted_card\","
      "\"encrypted_card\":{\"number_hash\":\"\"}}}}",
      SG_ERR_INVALID_REQUEST,
      "payment_method.card.encrypted_card.number_hash" },

    { "an encrypted card with number_hash is accepted", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"encrypted_card\","
      "\"encrypted_card\":{\"number_hash\":\"abc\"}}}}", SG_OK, NULL },

    /* issue 10: the payout forms of the provider's docs and SDK */

    { "a payment method type the docs do not have is refused",
      SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payment_method\":{\"type\":\"qiwi\","
      "\"anything\":[1]}}", SG_ERR_INVALID_REQUEST, "payment_method.type" },

    { "a payment method type's case is exact (Card)", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payment_method\":{\"type\":\"Card\","
      "\"card\":{\"type\":\"bank_card\",\"bank_card\":{\"number\":"
      "\"4242424242424241\"}}}}", SG_ERR_INVALID_REQUEST,
      "payment_method.type" },

    { "a misspelled payment method type is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payment_method\":{\"type\":"
      "\"bank_acount\",\"bank_acount\":{}}}", SG_ERR_INVALID_REQUEST,
      "payment_method.type" },

    { "wallet is required for type wallet", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payment_method\":{\"type\":\"wallet\"}}",
      SG_ERR_INVALID_REQUEST, "payment_method.wallet" },

    { "a card by token is accepted", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"tokenized_card\","
      "\"tokenized_card\":{\"token\":\"759c\"}}}}", SG_OK, NULL },

    { "a blank token is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"tokenized_card\","
      "\"tokenized_card\":{\"token\":\" \"}}}}", SG_ERR_INVALID_REQUEST,
      "payment_method.card.tokenized_card.token" },

    { "a blank number_hash is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\"," CARD "{\"type\":\"encrypted_card\","
      "\"encrypted_card\":{\"number_hash\":\"\\t\"}}}}",
      SG_ERR_INVALID_REQUEST,
      "payment_method.card.encrypted_card.number_hash" },

    { "a bank account needs its system_type", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payment_method\":{\"type\":"
      "\"bank_account\",\"bank_account\":{\"ru\":{}}}}",
      SG_ERR_INVALID_REQUEST, "payment_method.bank_account.system_type" },

    { "a Russian account by token is accepted", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payment_method\":{\"type\":"
      "\"bank_account\",\"bank_account\":{\"system_type\":\"ru\",\"ru\":"
      "{\"token\":\"3f03\",\"full_name\":\"A B\",\"description\":\"d\"}}}}",
      SG_OK, NULL },

    { "a Russian account without a token needs its bik", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payment_method\":{\"type\":"
      "\"bank_account\",\"bank_account\":{\"system_type\":\"ru\",\"ru\":"
      "{\"account\":\"4081\",\"full_name\":\"A B\",\"description\":"
      "\"d\"}}}}", SG_ERR_INVALID_REQUEST,
      "payment_method.bank_account.ru.bik" },

    { "an SBP payout is accepted", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payment_method\":{\"type\":"
      "\"bank_account\",\"bank_account\":{\"system_type\":"
      "\"faster_payment_system\",\"faster_payment_system\":{\"phone\":"
      "\"79680000000\",\"bank_id\":\"100000000069\",\"description\":"
      "\"d\"}}}}", SG_OK, NULL },

    { "a YooMoney wallet is accepted", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payment_method\":{\"type\":\"wallet\","
      "\"wallet\":{\"type\":\"yoomoney\",\"yoomoney\":{\"account\":"
      "\"410012411727100\"}}}}", SG_OK, NULL },

    { "a wallet's type names its object", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"payment_method\":{\"type\":\"wallet\","
      "\"wallet\":{\"type\":\"qiwi\"}}}", SG_ERR_INVALID_REQUEST,
      "payment_method.wallet.qiwi" },

    { "fiscalization_details and custom_routing are accepted",
      SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"fiscalization_details\":"
      "{\"professional_income_taxpayer\":{\"services\":[{\"name\":\"n\","
      "\"amount_details\":{\"amount\":1,\"currency\":\"RUB\"}}],"
      "\"tax_reference\":\"123456789012\"}},\"custom_routing\":"
      "{\"tags\":[{\"root_tag\":\"t\",\"values\":[\"v\"]}]}}", SG_OK,
      "{\"custom_routing\":{\"tags\":[{\"root_tag\":\"t\",\"values\":"
      "[\"v\"]}]},\"fiscalization_details\":{\"professional_income_taxpayer\""
      ":{\"services\":[{\"amount_details\":{\"amount\":1,\"currency\":"
      "\"rub\"},\"name\":\"n\"}],\"tax_reference\":\"123456789012\"}},"
      "\"session_id\":\"1\"}" },

    /* participant_details and customer */

    { "recipient must be an object", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"participant_details\":{\"recipient\":[]}}",
      SG_ERR_INVALID_REQUEST, "participant_details.recipient" },

    { "sender must be an object", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"participant_details\":{\"sender\":\"x\"}}",
      SG_ERR_INVALID_REQUEST, "participant_details.sender" },

    { "recipient.full_name must not be empty", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"participant_details\":"
      "{\"recipient\":{\"full_name\":\"\"}}}",
      SG_ERR_INVALID_REQUEST, "participant_details.recipient.full_name" },

    { "a participant may carry members the docs do not list",
      SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"participant_details\":"
      "{\"recipient\":{\"full_name\":\"A B\",\"extra\":1}}}",
      SG_OK, NULL },

    { "participant_details holds only sender and recipient (issue 10)",
      SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"participant_details\":"
      "{\"recipent\":{\"full_name\":\"A B\"}}}",
      SG_ERR_INVALID_REQUEST, "participant_details.recipent" },

    { "customer.reference must not be empty", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"customer\":{\"reference\":\"\"}}",
      SG_ERR_INVALID_REQUEST, "customer.reference" },

    { "customer.contacts must be an array", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"customer\":{\"contacts\":{}}}",
      SG_ERR_INVALID_REQUEST, "customer.contacts" },

    { "customer.contacts must hold objects", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"customer\":{\"contacts\":[{},\"x\"]}}",
      SG_ERR_INVALID_REQUEST, "customer.contacts[1]" },

    { "customer.contacts may be empty", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"customer\":{\"contacts\":[]}}", SG_OK, NULL },

    { "customer must be an object", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"customer\":null}",
      SG_ERR_INVALID_REQUEST, "customer" },

    /* normalization, CONTRACT step 5 */

    { "a number that would change is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"metadata\":{\"n\":9007199254740993}}",
      SG_ERR_INVALID_REQUEST, "metadata.n" },

    { "1e400 is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"metadata\":1e400}",
      SG_ERR_INVALID_REQUEST, "metadata" },

    { "numbers are respelled canonically", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"1\",\"metadata\":[1E30,4.50,-0]}", SG_OK,
      "{\"metadata\":[1e+30,4.5,0],\"session_id\":\"1\"}" },

    /* the object schema */

    { "the object schema accepts any object", SG_SCHEMA_OBJECT,
      "{\"b\":1,\"a\":{\"anything\":true}}", SG_OK,
      "{\"a\":{\"anything\":true},\"b\":1}" },

    { "the object schema refuses an array", SG_SCHEMA_OBJECT,
      "[]", SG_ERR_INVALID_REQUEST, "" },

    { "the object schema still refuses invalid JSON", SG_SCHEMA_OBJECT,
      "{\"a\":1,}", SG_ERR_INVALID_JSON, NULL },

    /* session_id, whatever the schema: it may reach headers and logs */

    { "CR/LF in session_id is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"s1\\r\\nX-PARTNER-SUBMERCHANT: evil\"}",
      SG_ERR_INVALID_REQUEST, "session_id" },

    { "NUL in session_id is refused", SG_SCHEMA_OBJECT,
      "{\"session_id\":\"s\\u0000\"}", SG_ERR_INVALID_REQUEST,
      "session_id" },

    { "TAB in session_id is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"s\\t1\"}", SG_ERR_INVALID_REQUEST, "session_id" },

    { "U+001F in session_id is refused", SG_SCHEMA_OBJECT,
      "{\"session_id\":\"\\u001f\"}", SG_ERR_INVALID_REQUEST,
      "session_id" },

    { "DEL in session_id is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"s\\u007f\"}", SG_ERR_INVALID_REQUEST,
      "session_id" },

    { "a session_id of 128 bytes is accepted", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"" S128 "\"}", SG_OK,
      "{\"session_id\":\"" S128 "\"}" },

    { "a session_id of 129 bytes is refused", SG_SCHEMA_OBJECT,
      "{\"session_id\":\"" S128 "s\"}", SG_ERR_INVALID_REQUEST,
      "session_id" },

    { "a session_id of 64 two-byte characters is accepted", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"" E64 "\"}", SG_OK, NULL },

    { "a session_id of 65 two-byte characters is refused", SG_SCHEMA_PAYOUT,
      "{\"session_id\":\"" E64 "\\u00e9\"}",
      SG_ERR_INVALID_REQUEST, "session_id" },

    { "a non-string session_id in the object schema is not checked",
      SG_SCHEMA_OBJECT, "{\"session_id\":1}", SG_OK, "{\"session_id\":1}" },
};


/* the methods of issue 10 (the provider's API v1), each with a built-in */

static const char  *methods[] = {
    "session/create", "session/init/payout",
    "session/init/payout/fiscalization", "session/start/payout",
    "session/start/payout/fiscalization", "session/confirm",
    "session/cancel", "session/status", "session/refund", "session/capture",
    "wallet/balance", "token", "fiscalization", "object",
};


/* what a schema that does not compile is told: line, pointer, message */

typedef struct {
    const char  *name;
    const char  *schema;
    unsigned     line;
    const char  *pointer;
    const char  *message;     /* a substring */
} compile_case_t;


static const compile_case_t  compile_cases[] = {
    { "not JSON", "{\"type\":}", 1, "", "not JSON" },
    { "an unknown keyword", "{\n\"properties\":{\"a\":{\"format\":\"email\"}}}",
      2, "/properties/a/format", "unsupported keyword" },
    { "a remote $ref", "{\"$ref\":\"http://example.com/s.json\"}", 1,
      "/$ref", "references" },
    { "a $ref that resolves nowhere", "{\"$ref\":\"#/definitions/nope\"}",
      1, "/$ref", "resolves to no schema" },
    { "a bad pattern", "{\"pattern\":\"(\"}", 1, "/pattern",
      "regular expression" },
    { "a wrong-typed keyword", "{\"minLength\":\"3\"}", 1, "/minLength",
      "non-negative integer" },
    { "an unknown type", "{\"type\":\"text\"}", 1, "/type", "type" },
    { "x-sg-lowercase under anyOf",
      "{\"anyOf\":[{\"x-sg-lowercase\":true}]}", 1,
      "/anyOf/0/x-sg-lowercase", "normalization" },
    { "x-sg-lowercase under not", "{\"not\":{\"x-sg-lowercase\":true}}", 1,
      "/not/x-sg-lowercase", "normalization" },
    { "x-sg-lowercase reached by a $ref from under oneOf",
      "{\"definitions\":{\"l\":{\"x-sg-lowercase\":true}},"
      "\"oneOf\":[{\"$ref\":\"#/definitions/l\"}]}", 1, "/oneOf/0/$ref",
      "normalization" },
    { "a keyword beside $ref (draft-07 would ignore it)",
      "{\"definitions\":{\"a\":{}},\"properties\":{\"n\":"
      "{\"$ref\":\"#/definitions/a\",\"maximum\":5}}}", 1,
      "/properties/n/$ref", "beside $ref" },
    { "a $ref loop on the same value", "{\"$ref\":\"#\"}", 1, "/$ref",
      "loops" },
    { "a loop through allOf and a definition",
      "{\"definitions\":{\"a\":{\"allOf\":[{\"$ref\":\"#/definitions/a\"}]}},"
      "\"properties\":{\"x\":{\"$ref\":\"#/definitions/a\"}}}", 1,
      "/definitions/a/allOf/0/$ref", "loops" },
    { "a discriminator without consts",
      "{\"x-sg-discriminator\":\"type\",\"oneOf\":[{\"type\":\"object\"}]}",
      1, "/oneOf/0", "discriminator" },
    { "a pointer escapes ~ and /",
      "{\"properties\":{\"a/b~c\":{\"type\":1}}}", 1,
      "/properties/a~1b~0c/type", "type" },
};


static void
test_compile_errors(void)
{
    char               name[256];
    size_t             i;
    sg_schema_t       *s;
    sg_schema_error_t  err;

    for (i = 0; i < sizeof(compile_cases) / sizeof(compile_cases[0]); i++) {
        const compile_case_t  *c = &compile_cases[i];

        s = sg_schema_compile(c->schema, strlen(c->schema), NULL, &err);

        snprintf(name, sizeof(name), "%s is refused at load", c->name);
        tap_ok(s == NULL, name);
        sg_schema_free(s);

        snprintf(name, sizeof(name), "%s: line %u, at \"%s\"", c->name,
                 c->line, c->pointer);
        tap_ok(err.line == c->line && strcmp(err.pointer, c->pointer) == 0,
               name);
        if (err.line != c->line || strcmp(err.pointer, c->pointer) != 0) {
            tap_diag(err.pointer);
        }

        snprintf(name, sizeof(name), "%s: the message says \"%s\"",
                 c->name, c->message);
        tap_ok(strstr(err.message, c->message) != NULL, name);
        if (strstr(err.message, c->message) == NULL) {
            tap_diag(err.message);
        }
    }
}


int
main(void)
{
    char          name[256], desc[256];
    size_t        i;
    sg_body_t     body;
    sg_code_t     rc;
    sg_error_t    err;
    TEST_POOL    (pool, alloc);

    schemas[SG_SCHEMA_PAYOUT] = sg_schema_compile_builtin(
                                    "session/start/payout", 20, NULL);
    schemas[SG_SCHEMA_OBJECT] = sg_schema_compile_builtin("object", 6, NULL);

    if (schemas[SG_SCHEMA_PAYOUT] == NULL || schemas[SG_SCHEMA_OBJECT] == NULL)
    {
        tap_diag("the built-in schemas do not compile");
        return 1;
    }

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&err, 0, sizeof(err));

        rc = sg_body_canonicalize(schemas[cases[i].schema], cases[i].body,
                                  strlen(cases[i].body), &alloc, &body, &err);

        snprintf(name, sizeof(name), "%s: code", cases[i].name);
        tap_ok(rc == cases[i].code, name);

        if (cases[i].path == NULL) {
            test_pool_reset(&pool);
            continue;
        }

        if (rc == SG_OK) {
            snprintf(name, sizeof(name), "%s: canonical body",
                     cases[i].name);
            tap_ok(body.len == strlen(cases[i].path)
                   && memcmp(body.data, cases[i].path, body.len) == 0, name);

        } else {
            snprintf(name, sizeof(name), "%s: path is \"%s\"",
                     cases[i].name, cases[i].path);
            tap_ok(strcmp(err.path, cases[i].path) == 0, name);
            if (strcmp(err.path, cases[i].path) != 0) {
                tap_diag(err.path);
            }
        }

        test_pool_reset(&pool);
    }

    /* a description names the path and the rule, never the value */

    memset(&err, 0, sizeof(err));
    rc = sg_body_canonicalize(schemas[SG_SCHEMA_PAYOUT],
             "{\"session_id\":\"1\"," CARD "{\"type\":\"bank_card\","
             "\"bank_card\":{\"number\":\"4111111111111112\"}}}}",
             strlen("{\"session_id\":\"1\"," CARD "{\"type\":\"bank_card\","
                    "\"bank_card\":{\"number\":\"4111111111111112\"}}}}"),
             &alloc, &body, &err);
    sg_error_describe(&err, desc, sizeof(desc));
    tap_ok(strstr(desc, "payment_method.card.bank_card.number: ") == desc,
           "a refused card number's description starts with its path");
    tap_ok(strstr(desc, "4111") == NULL,
           "a refused card number is not echoed in the description");
    test_pool_reset(&pool);

    memset(&err, 0, sizeof(err));
    rc = sg_body_canonicalize(schemas[SG_SCHEMA_PAYOUT],
             "{\"session_id\":\"1\",\"amount_details\":{\"amount\":100.5,"
             "\"currency\":\"usd\"}}",
             strlen("{\"session_id\":\"1\",\"amount_details\":{\"amount\":"
                    "100.5,\"currency\":\"usd\"}}"),
             &alloc, &body, &err);
    sg_error_describe(&err, desc, sizeof(desc));
    tap_ok(strstr(desc, "minor units") != NULL
           && strstr(desc, "10000") != NULL,
           "a fractional amount's description asks for minor units");
    test_pool_reset(&pool);

    memset(&err, 0, sizeof(err));
    rc = sg_body_canonicalize(schemas[SG_SCHEMA_PAYOUT],
             "{\"session_id\":\"s-42\",\"metadata\":\"x\"}",
             strlen("{\"session_id\":\"s-42\",\"metadata\":\"x\"}"),
             &alloc, &body, &err);
    tap_ok(rc == SG_OK && body.session_id_len == 4
           && memcmp(body.session_id, "s-42", 4) == 0,
           "the session_id is handed back for $sg_sign_session_id");
    test_pool_reset(&pool);

    /* the directive's names */

    tap_ok(sg_schema_builtin("session/start/payout", 20, &i) != NULL,
           "schema session/start/payout exists");
    tap_ok(sg_schema_builtin("object", 6, &i) != NULL, "schema object exists");
    tap_ok(sg_schema_compile_builtin("nope", 4, NULL) == NULL,
           "an unknown schema name is refused");

    /* every built-in compiles; issue 10's methods are all there */

    for (i = 0; sg_schema_builtin_names[i] != NULL; i++) {
        const char   *n = sg_schema_builtin_names[i];
        sg_schema_t  *s;

        s = sg_schema_compile_builtin(n, strlen(n), NULL);
        snprintf(name, sizeof(name), "the built-in schema %s compiles", n);
        tap_ok(s != NULL, name);
        sg_schema_free(s);
    }

    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        size_t  k;

        for (k = 0; sg_schema_builtin_names[k] != NULL; k++) {
            if (strcmp(sg_schema_builtin_names[k], methods[i]) == 0) {
                break;
            }
        }

        snprintf(name, sizeof(name), "%s has a built-in schema", methods[i]);
        tap_ok(sg_schema_builtin_names[k] != NULL, name);
    }

    test_compile_errors();

    sg_schema_free(schemas[SG_SCHEMA_PAYOUT]);
    sg_schema_free(schemas[SG_SCHEMA_OBJECT]);

    return tap_done();
}
