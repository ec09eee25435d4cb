import { GROUP } from './glance-service-types.js';

/** The field manager of every write the operator makes. */
export const FIELD_MANAGER = 'glance-operator';
/** The reportingController of the operator's Events. */
export const CONTROLLER_NAME = `${GROUP}/operator`;
