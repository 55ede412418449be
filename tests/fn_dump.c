/* fn_dump.c — prints the forward's function table (src/lang/shapefn.c), one
 * row a line: name, namespace flags (NS_*), signature, tab-separated, for
 * tests/fn_sigs.py to compare with torch's signatures. */
#include <stdio.h>

#include "shapes.h"

int main(void)
{
    const char *name, *sig;
    int ns;
    for (size_t i = 0; sh_fn_row(i, &name, &ns, &sig); i++)
        printf("%s\t%d\t%s\n", name, ns, sig);
    return 0;
}
