// Revision 34549f16f6b5: backfill email domains and order totals, in JavaScript.
//
// Two data migrations in one step: each customer's email domain (lowercased)
// and each order's total (quantity x unit price, in cents). Rows are read with
// `query` and written back with `execute`, inside the transaction wasmig
// opened for this step; a throw rolls both back. Run from source by the
// JavaScript engine built into wasmig (kind = "js" in revision.toml):
// nothing to build.

import { dialect, execute, query, queryOne } from './wasmig.js';

// Placeholders are the dialect's own: ?1 on SQLite, $1 on PostgreSQL.
const param = (n) => (dialect() === 'sqlite' ? `?${n}` : `$${n}`);

export function up() {
  const customers = query('SELECT id, email FROM customers WHERE email_domain IS NULL ORDER BY id');
  for (const { id, email } of customers) {
    const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
    execute(`UPDATE customers SET email_domain = ${param(1)} WHERE id = ${param(2)}`, domain, id);
  }
  const orders = query('SELECT id, quantity, unit_price_cents FROM orders WHERE total_cents IS NULL ORDER BY id');
  for (const order of orders) {
    execute(`UPDATE orders SET total_cents = ${param(1)} WHERE id = ${param(2)}`,
      order.quantity * order.unit_price_cents, order.id);
  }
  console.log(`filled email_domain for ${customers.length} customers and total_cents for ${orders.length} orders`);
}

export function down() {
  execute('UPDATE orders SET total_cents = NULL');
  execute('UPDATE customers SET email_domain = NULL');
}

export function verify() {
  const { missing } = queryOne(
    'SELECT (SELECT count(*) FROM customers WHERE email_domain IS NULL) + (SELECT count(*) FROM orders WHERE total_cents IS NULL) AS missing');
  return missing === 0;
}
