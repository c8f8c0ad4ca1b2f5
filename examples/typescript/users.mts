// A tiny user directory: scrypt password hashes, compared in constant time.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'

export interface User {
  id: string
  email: string
  name: string
  isActive: boolean
}

interface Account {
  user: User
  salt: Buffer
  hash: Buffer
}

const accounts = new Map<string, Account>()

function hashOf (password: string, salt: Buffer): Buffer {
  return scryptSync(password, salt, 32)
}

export function addUser (user: User, password: string): void {
  const salt = randomBytes(16)
  accounts.set(user.email, { user, salt, hash: hashOf(password, salt) })
}

export function findUser (id: string): User | null {
  for (const { user } of accounts.values()) if (user.id === id) return user
  return null
}

/** The user with this email and password, or null (a wrong email costs a hash too). */
export function checkPassword (email: string, password: string): User | null {
  const account = accounts.get(email)
  const hash = hashOf(password, account?.salt ?? Buffer.alloc(16))
  return account !== undefined && timingSafeEqual(hash, account.hash) ? account.user : null
}
