/* libmissingdep_gone.so: built into a folder no loader searches. */
int missingdep_gone_answer(void);
int missingdep_gone_answer(void)
{
    return 1;
}
