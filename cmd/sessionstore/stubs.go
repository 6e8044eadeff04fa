package main

func runCopy(e *env, args []string) error  { return usagef("not yet") }
func runBench(e *env, args []string) error { return usagef("not yet") }
func runCheck(e *env, args []string) error { return usagef("not yet") }
