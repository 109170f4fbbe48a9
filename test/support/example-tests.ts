/**
 * How many tests the example app's suite has: a run of all of it must report exactly this many passed
 * (test/unit/example-tests.test.ts holds the number to example/tests).
 */
export const EXAMPLE_TESTS = 19;
