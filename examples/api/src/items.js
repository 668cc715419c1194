// The items repository over a pg Pool (or anything with the same `query`).

/**
 * @typedef {{ id: number, name: string, quantity: number, createdAt: string, updatedAt: string }} Item
 * @typedef {{ query: (text: string, values?: unknown[]) => Promise<{ rows: any[], rowCount: number | null }> }} Queryable
 * @typedef {ReturnType<typeof createItemStore>} ItemStore
 */

const COLUMNS = 'id, name, quantity, created_at, updated_at';

/** @param {any} row @returns {Item} */
function toItem(row) {
  return {
    id: Number(row.id), // BIGSERIAL arrives as a string; ids stay far below 2^53
    name: row.name,
    quantity: row.quantity,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/**
 * Items CRUD as parameterised SQL.
 * @param {Queryable} db
 */
export function createItemStore(db) {
  return {
    /** @param {number} limit @returns {Promise<Item[]>} */
    async list(limit) {
      const { rows } = await db.query(`SELECT ${COLUMNS} FROM items ORDER BY id LIMIT $1`, [limit]);
      return rows.map(toItem);
    },
    /** @param {number} id @returns {Promise<Item | undefined>} */
    async get(id) {
      const { rows } = await db.query(`SELECT ${COLUMNS} FROM items WHERE id = $1`, [id]);
      return rows[0] ? toItem(rows[0]) : undefined;
    },
    /** @param {{ name: string, quantity: number }} input @returns {Promise<Item>} */
    async create(input) {
      const { rows } = await db.query(`INSERT INTO items (name, quantity) VALUES ($1, $2) RETURNING ${COLUMNS}`, [input.name, input.quantity]);
      return toItem(rows[0]);
    },
    /** @param {number} id @param {{ name?: string, quantity?: number }} patch @returns {Promise<Item | undefined>} */
    async update(id, patch) {
      const { rows } = await db.query(
        `UPDATE items SET name = COALESCE($2, name), quantity = COALESCE($3, quantity), updated_at = now()
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, patch.name ?? null, patch.quantity ?? null],
      );
      return rows[0] ? toItem(rows[0]) : undefined;
    },
    /** @param {number} id @returns {Promise<boolean>} true when a row was deleted */
    async remove(id) {
      const { rowCount } = await db.query('DELETE FROM items WHERE id = $1', [id]);
      return (rowCount ?? 0) > 0;
    },
    /** @returns {Promise<void>} a trivial round trip, for /health */
    async ping() {
      await db.query('SELECT 1');
    },
  };
}
