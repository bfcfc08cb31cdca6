#!/usr/bin/node
// The body the upstream must receive for each payout file, computed by
// ECMAScript itself (RFC 8785's reference: JSON.parse, keys sorted by UTF-16
// code units, JSON.stringify), with the payout schema's one normalization
// (amount_details.currency in lower case).  Shares no code with the module.
//
//   node bench/jcs.js FILE...      # writes FILE.canon next to each FILE
//
// Only for the benchmark's own bodies: they have no duplicate names and no
// numbers whose value the canonical form would change.

'use strict';

const fs = require('fs');

function canon(v) {
    if (Array.isArray(v)) {
        return '[' + v.map(canon).join(',') + ']';
    }
    if (v !== null && typeof v === 'object') {
        return '{' + Object.keys(v).sort()
            .map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}';
    }
    return JSON.stringify(v);
}

for (const f of process.argv.slice(2)) {
    const doc = JSON.parse(fs.readFileSync(f, 'utf8'));
    if (doc.amount_details && typeof doc.amount_details.currency === 'string') {
        doc.amount_details.currency = doc.amount_details.currency.toLowerCase();
    }
    fs.writeFileSync(f + '.canon', canon(doc));
}
