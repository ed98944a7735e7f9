export { probeMachine } from './probeMachine.ts'
export type { MachineProfile } from './probeMachine.ts'
