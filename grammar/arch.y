/* arch.y — the grammar of the .arch spec language.
 *
 * Thin by design: every action is one AST constructor call or one list
 * append (src/ast.c), and all meaning is given later, by elaboration.
 * Spans: YYLTYPE is the Span of arch.h; the scanner gives each token its
 * byte range and YYLLOC_DEFAULT composes a rule's span from its first
 * and last symbols, so every node knows exactly where it came from.
 *
 * Statements end at a newline or ';' (the scanner drops newlines inside
 * ( ) and [ ]).  Error recovery happens at two levels: a broken statement
 * is skipped up to its separator or to the '}' that closes its body, and
 * a broken declaration or if/forward header is skipped up to its '{'.  So
 * one run reports every independent syntax error.  The lists are written
 * so that no state reached after `error` holds a default reduction, which
 * would pop the recovery point before the bad tokens are skipped.
 *
 * Operator precedence, loosest first (Python's, with C spellings allowed):
 *   c ? a : b (right)   || or   && and   ! not (prefix)
 *   == != < > <= >= (non-associative)   + -   * / // % @
 *   unary - +   ** (right; -x ** 2 is -(x ** 2), 2 ** -1 is 2 ** (-1))
 *   postfix: call f(...), attribute a.b, index a[...]
 */
%require "3.8"
%define api.pure full
%define api.prefix {archyy}
%define api.token.prefix {TK_}
%define api.location.type {Span}
%define parse.error verbose
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {ArchParse *ctx}

%code requires {
#include "arch.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* An open bracket the scanner has seen: '(', '[' or '{', at byte off. */
typedef struct ArchBracket {
    uint32_t off;
    char     c;
} ArchBracket;

/* What the parser and the scanner (as its extra data) share. */
typedef struct ArchParse {
    Diags       *diags;
    Arena       *arena;      /* every node, string and list */
    uint32_t     file;
    Program     *prog;       /* the result: each declaration is appended
                                as soon as it has parsed */
    /* scanner state */
    uint32_t     off;        /* byte offset of the next token */
    ArchBracket *open;       /* arena: unclosed brackets, innermost last;
                                newlines count only outside ( and [ */
    size_t       nopen, open_cap;
    int          at_eof;     /* the scanner has returned end of file */
    int          oom;
} ArchParse;
}

%code provides {
int archyylex(ARCHYYSTYPE *yylval, ARCHYYLTYPE *yylloc, yyscan_t scanner);
}

%code {
#include <stddef.h>
#include <string.h>

/* A rule's span runs from its first symbol to its last; an empty rule
 * sits where the previous symbol ended. */
#define YYLLOC_DEFAULT(cur, rhs, n)                                   \
    do {                                                              \
        if (n) {                                                      \
            (cur).file = YYRHSLOC(rhs, 1).file;                       \
            (cur).lo = YYRHSLOC(rhs, 1).lo;                           \
            (cur).hi = YYRHSLOC(rhs, n).hi;                           \
        } else {                                                      \
            (cur).file = YYRHSLOC(rhs, 0).file;                       \
            (cur).lo = (cur).hi = YYRHSLOC(rhs, 0).hi;                \
        }                                                             \
    } while (0)

/* Token names in messages: the aliases below, without bison's quotes
 * (bison's own yystpcpy then serves nothing). */
#define yytnamerr arch_tnamerr
#define yystpcpy stpcpy
static ptrdiff_t arch_tnamerr(char *res, const char *str);
static void yyerror(YYLTYPE *loc, yyscan_t scanner, ArchParse *ctx, const char *msg);

#define A (ctx->arena)
/* Constructors return NULL only when out of memory. */
#define NEW(x) do { if (!(x)) { ctx->oom = 1; YYNOMEM; } } while (0)
}

%initial-action { @$ = (Span){ctx->file, 0, 0}; }

%union {
    int64_t     i;
    double      f;
    const char *s;
    Expr       *e;
    Stmt       *st;
    TypeExpr   *t;
    Decl       *d;
    ArgList    *args;
    ExprList   *exprs;
    NameList   *names;
    StmtList   *stmts;
    ParamList  *params;
}

%token <s> NAME "identifier" STRING "string"
%token <i> INT "integer"
%token <f> FLOAT "number"
%token NEWLINE "newline"
%token BLOCK "'block'" MODEL "'model'" IMPORT "'import'" IF "'if'" ELSE "'else'"
       FORWARD "'forward'" RETURN "'return'" PARAM "'param'" BUFFER "'buffer'"
       INPUT "'input'" TRUE "'true'" FALSE "'false'" NONE "'none'" FOR "'for'" IN "'in'"
       NAMED "'named'"
%token <i> AUGASSIGN "augmented assignment"
%token IDIV "'//'" POW "'**'" EQ "'=='" NE "'!='" LE "'<='" GE "'>='" IS "'is'" ISNOT "'is not'"
       AND "'&&'" OR "'||'" ELLIPSIS "'...'"

%right '?'
%left OR
%left AND
%precedence '!'
%nonassoc EQ NE '<' '>' LE GE IS ISNOT
%left '+' '-'
%left '*' '/' IDIV '%' '@'
%precedence UNARY
%right POW

%type <e> expr postfix atom value item expr_opt arg genexpr
%type <s> ident attr_name
%type <st> stmt if_stmt
%type <t> type
%type <d> decl
%type <args> args posargs kwargs items tuple tuple_head list_items exprs
%type <exprs> dims
%type <names> targets target_head for_targets
%type <stmts> braced stmts else_part
%type <params> params param_list

%%

program
    : %empty
    | program NEWLINE
    | program decl                  { NEW(ast_decl_add(A, ctx->prog, $2)); }
    | program error NEWLINE         { yyerrok; }
    ;

decl
    : IMPORT STRING                 { NEW($$ = ast_import(A, @$, $2, @2)); }
    | BLOCK NAME '(' params ')' nl_opt braced
                                    { NEW($$ = ast_block(A, @$, $2, @2, $4, $7)); }
    | MODEL NAME nl_opt braced      { NEW($$ = ast_model(A, @$, $2, @2, $4)); }
    | BLOCK error braced            { $$ = NULL; }
    | MODEL error braced            { $$ = NULL; }
    ;

params
    : %empty                        { NEW($$ = ast_param_add(A, NULL, NULL, @$, NULL)); }
    | param_list
    | param_list ','
    ;

param_list
    : ident                         { NEW($$ = ast_param_add(A, NULL, $1, @1, NULL)); }
    | ident '=' expr                { NEW($$ = ast_param_add(A, NULL, $1, @1, $3)); }
    | param_list ',' ident          { NEW($$ = ast_param_add(A, $1, $3, @3, NULL)); }
    | param_list ',' ident '=' expr { NEW($$ = ast_param_add(A, $1, $3, @3, $5)); }
    ;

/* A name.  The words that open a declaration or a statement are keywords
 * only where they do so: `model = LlamaModel(...)`, `self.block`,
 * `forward(input)` all name things, as torch code does.  `forward` opens
 * a forward when it is followed by '(' at the start of a statement, so
 * there it is a name only as a target (`forward = ...`) or after '.'. */
ident
    : NAME
    | MODEL                         { $$ = "model"; }
    | BLOCK                         { $$ = "block"; }
    | IMPORT                        { $$ = "import"; }
    | PARAM                         { $$ = "param"; }
    | BUFFER                        { $$ = "buffer"; }
    | INPUT                         { $$ = "input"; }
    | NAMED                         { $$ = "named"; }
    ;

attr_name
    : ident
    | FORWARD                       { $$ = "forward"; }
    ;

nl_opt
    : %empty
    | nl_opt NEWLINE
    ;

/* A body: statements, each ended by a separator except perhaps the last.
 * The closing brace is shifted straight from the list, never after a
 * reduction, so a statement-level error always finds `stmts` on the stack. */
braced
    : '{' stmts '}'                 { $$ = $2; }
    | '{' stmts stmt '}'            { NEW($$ = ast_stmt_add(A, $2, $3)); }
    | '{' stmts error '}'           { $$ = $2; yyerrok; }
    ;

stmts
    : %empty                        { NEW($$ = ast_stmt_add(A, NULL, NULL)); }
    | stmts sep
    | stmts stmt sep                { NEW($$ = ast_stmt_add(A, $1, $2)); }
    | stmts error sep               { $$ = $1; yyerrok; }
    ;

sep
    : NEWLINE
    | ';'
    ;

stmt
    : ident '=' value               { NEW($$ = ast_assign(A, @$, $1, @1, $3)); }
    | ident AUGASSIGN value         { NEW($$ = ast_aug_assign(A, @$, $1, @1, $2, $3)); }
    | FORWARD '=' value             { NEW($$ = ast_assign(A, @$, "forward", @1, $3)); }
    | STRING '=' value              { NEW($$ = ast_assign_quoted(A, @$, $1, @1, $3)); }
    | postfix '.' attr_name '=' value
                                    { NEW($$ = ast_assign_attr(A, @$, $1, $3, @3, $5)); }
    | targets '=' value             { NEW($$ = ast_assign_many(A, @$, $1, $3)); }
    | PARAM ident ':' type          { NEW($$ = ast_tensor(A, @$, ST_PARAM, $2, @2, $4, NULL)); }
    | PARAM ident ':' type '=' expr { NEW($$ = ast_tensor(A, @$, ST_PARAM, $2, @2, $4, $6)); }
    | BUFFER ident ':' type         { NEW($$ = ast_tensor(A, @$, ST_BUFFER, $2, @2, $4, NULL)); }
    /* a key that is no identifier: nn.ParameterList's "0", a tensor named "in" */
    | PARAM STRING ':' type         { NEW($$ = ast_tensor(A, @$, ST_PARAM, $2, @2, $4, NULL)); }
    | BUFFER STRING ':' type        { NEW($$ = ast_tensor(A, @$, ST_BUFFER, $2, @2, $4, NULL)); }
    | INPUT ident ':' type          { NEW($$ = ast_tensor(A, @$, ST_INPUT, $2, @2, $4, NULL)); }
    | if_stmt
    | FOR for_targets IN expr nl_opt braced
                                    { NEW($$ = ast_for(A, @$, $2, $4, $6)); }
    | FOR error braced              { $$ = NULL; }
    | FORWARD '(' params ')' nl_opt braced
                                    { NEW($$ = ast_forward(A, @$, $3, $6)); }
    | FORWARD error braced          { $$ = NULL; }
    | RETURN value                  { NEW($$ = ast_return(A, @$, $2)); }
    | expr                          { NEW($$ = ast_expr_stmt(A, @$, $1)); }
    ;

if_stmt
    : IF expr nl_opt braced else_part
                                    { NEW($$ = ast_if(A, @$, $2, $4, $5)); }
    | IF error braced else_part     { $$ = NULL; }
    ;

else_part
    : %empty                        { $$ = NULL; }
    | ELSE nl_opt braced            { $$ = $3; }
    | ELSE if_stmt                  { NEW($$ = ast_stmt_add(A, NULL, $2)); }
    ;

/* a, b = ... */
targets
    : target_head ident             { NEW($$ = ast_name_add(A, $1, $2, @2)); }
    ;

target_head
    : ident ','                     { NEW($$ = ast_name_add(A, NULL, $1, @1)); }
    | target_head ident ','         { NEW($$ = ast_name_add(A, $1, $2, @2)); }
    ;

/* for x in ...   for i, x in ... */
for_targets
    : ident                         { NEW($$ = ast_name_add(A, NULL, $1, @1)); }
    | for_targets ',' ident         { NEW($$ = ast_name_add(A, $1, $3, @3)); }
    ;


/* f32[N, 3, 224, 224] */
type
    : NAME '[' ']'                  { NEW($$ = ast_type(A, @$, $1, @1, NULL)); }
    | NAME '[' dims ']'             { NEW($$ = ast_type(A, @$, $1, @1, $3)); }
    | NAME '[' dims ',' ']'         { NEW($$ = ast_type(A, @$, $1, @1, $3)); }
    ;

dims
    : expr                          { NEW($$ = ast_expr_add(A, NULL, $1)); }
    | dims ',' expr                 { NEW($$ = ast_expr_add(A, $1, $3)); }
    ;

/* The right-hand side of = and return: an expression or a bare tuple;
 * a list of modules may be followed by `named "pattern"`. */
value
    : expr
    | tuple                         { NEW($$ = ast_tuple(A, @$, $1->v, $1->n)); }
    | expr NAMED STRING             { NEW($$ = ast_named(A, @$, $1, ast_str(A, @3, $3))); }
    ;

expr
    : postfix
    | expr '?' expr ':' expr %prec '?'
                                    { NEW($$ = ast_cond(A, @$, $1, $3, $5)); }
    | expr OR expr                  { NEW($$ = ast_binary(A, @$, TK_OR, $1, $3)); }
    | expr AND expr                 { NEW($$ = ast_binary(A, @$, TK_AND, $1, $3)); }
    | '!' expr                      { NEW($$ = ast_unary(A, @$, '!', $2)); }
    | expr EQ expr                  { NEW($$ = ast_binary(A, @$, TK_EQ, $1, $3)); }
    | expr NE expr                  { NEW($$ = ast_binary(A, @$, TK_NE, $1, $3)); }
    | expr '<' expr                 { NEW($$ = ast_binary(A, @$, '<', $1, $3)); }
    | expr '>' expr                 { NEW($$ = ast_binary(A, @$, '>', $1, $3)); }
    | expr LE expr                  { NEW($$ = ast_binary(A, @$, TK_LE, $1, $3)); }
    | expr GE expr                  { NEW($$ = ast_binary(A, @$, TK_GE, $1, $3)); }
    | expr IS expr                  { NEW($$ = ast_binary(A, @$, TK_IS, $1, $3)); }
    | expr ISNOT expr               { NEW($$ = ast_binary(A, @$, TK_ISNOT, $1, $3)); }
    | expr '+' expr                 { NEW($$ = ast_binary(A, @$, '+', $1, $3)); }
    | expr '-' expr                 { NEW($$ = ast_binary(A, @$, '-', $1, $3)); }
    | expr '*' expr                 { NEW($$ = ast_binary(A, @$, '*', $1, $3)); }
    | expr '/' expr                 { NEW($$ = ast_binary(A, @$, '/', $1, $3)); }
    | expr IDIV expr                { NEW($$ = ast_binary(A, @$, TK_IDIV, $1, $3)); }
    | expr '%' expr                 { NEW($$ = ast_binary(A, @$, '%', $1, $3)); }
    | expr '@' expr                 { NEW($$ = ast_binary(A, @$, '@', $1, $3)); }
    | '-' expr %prec UNARY          { NEW($$ = ast_unary(A, @$, '-', $2)); }
    | '+' expr %prec UNARY          { NEW($$ = ast_unary(A, @$, '+', $2)); }
    | expr POW expr                 { NEW($$ = ast_binary(A, @$, TK_POW, $1, $3)); }
    ;

postfix
    : atom
    | postfix '(' args ')'          { NEW($$ = ast_call(A, @$, $1, $3->v, $3->n)); }
    | postfix '.' attr_name         { NEW($$ = ast_attr(A, @$, $1, $3)); }
    | postfix '.' STRING            { NEW($$ = ast_attr_quoted(A, @$, $1, $3)); }
    | postfix '[' items ']'         { NEW($$ = ast_index(A, @$, $1, $3->v, $3->n)); }
    ;

/* Positional arguments, then keyword arguments; a trailing comma. */
args
    : %empty                        { NEW($$ = ast_arg_add(A, NULL, NULL, @$, NULL)); }
    | genexpr                       { NEW($$ = ast_arg_add(A, NULL, NULL, NO_SPAN, $1)); }
    | posargs
    | posargs ','
    | kwargs
    | kwargs ','
    ;

posargs
    : arg                           { NEW($$ = ast_arg_add(A, NULL, NULL, NO_SPAN, $1)); }
    | posargs ',' arg               { NEW($$ = ast_arg_add(A, $1, NULL, NO_SPAN, $3)); }
    ;

/* A positional argument or list item; `*xs` splices a list or tuple. */
arg
    : expr
    | '*' expr %prec '?'            { NEW($$ = ast_star(A, @$, $2)); }
    ;

kwargs
    : ident '=' expr                { NEW($$ = ast_arg_add(A, NULL, $1, @1, $3)); }
    | posargs ',' ident '=' expr    { NEW($$ = ast_arg_add(A, $1, $3, @3, $5)); }
    | kwargs ',' ident '=' expr     { NEW($$ = ast_arg_add(A, $1, $3, @3, $5)); }
    | kwargs ',' expr               { $$ = $1; diag(ctx->diags, DG_ERROR, @3, "positional argument follows keyword arguments"); }
    ;

/* x[i, lo:hi:step, ...] */
items
    : item                          { NEW($$ = ast_arg_add(A, NULL, NULL, NO_SPAN, $1)); }
    | items ',' item                { NEW($$ = ast_arg_add(A, $1, NULL, NO_SPAN, $3)); }
    | items ','
    ;

item
    : expr
    | ELLIPSIS                      { NEW($$ = ast_ellipsis(A, @$)); }
    | expr_opt ':' expr_opt         { NEW($$ = ast_slice(A, @$, $1, $3, NULL)); }
    | expr_opt ':' expr_opt ':' expr_opt
                                    { NEW($$ = ast_slice(A, @$, $1, $3, $5)); }
    ;

expr_opt
    : %empty                        { $$ = NULL; }
    | expr
    ;

atom
    : INT                           { NEW($$ = ast_int(A, @$, $1)); }
    | FLOAT                         { NEW($$ = ast_float(A, @$, $1)); }
    | STRING                        { NEW($$ = ast_str(A, @$, $1)); }
    | TRUE                          { NEW($$ = ast_bool(A, @$, 1)); }
    | FALSE                         { NEW($$ = ast_bool(A, @$, 0)); }
    | NONE                          { NEW($$ = ast_none(A, @$)); }
    | '?'                           { NEW($$ = ast_free(A, @$)); }
    | ident                         { NEW($$ = ast_name(A, @$, $1)); }
    | '(' expr ')'                  { $$ = $2; }
    | '(' ')'                       { NEW($$ = ast_tuple(A, @$, NULL, 0)); }
    | '(' tuple ')'                 { NEW($$ = ast_tuple(A, @$, $2->v, $2->n)); }
    | '[' list_items ']'            { NEW($$ = ast_list(A, @$, $2->v, $2->n)); }
    | '[' expr FOR for_targets IN expr ']'
                                    { NEW($$ = ast_comp(A, @$, $2, $4, $6)); }
    | '(' genexpr ')'               { $$ = $2; }
    ;

/* A generator expression, Python's sum(x for x in t): computed as the list
 * comprehension it would make. */
genexpr
    : expr FOR for_targets IN expr  { NEW($$ = ast_comp(A, @$, $1, $3, $5)); }
    ;

/* a,   a, b   a, b, */
tuple
    : tuple_head
    | tuple_head expr               { NEW($$ = ast_arg_add(A, $1, NULL, NO_SPAN, $2)); }
    ;

tuple_head
    : expr ','                      { NEW($$ = ast_arg_add(A, NULL, NULL, NO_SPAN, $1)); }
    | tuple_head expr ','           { NEW($$ = ast_arg_add(A, $1, NULL, NO_SPAN, $2)); }
    ;

list_items
    : %empty                        { NEW($$ = ast_arg_add(A, NULL, NULL, @$, NULL)); }
    | exprs
    | exprs ','
    ;

exprs
    : arg                           { NEW($$ = ast_arg_add(A, NULL, NULL, NO_SPAN, $1)); }
    | exprs ',' arg                 { NEW($$ = ast_arg_add(A, $1, NULL, NO_SPAN, $3)); }
    ;

%%

/* bison's default strips the double quotes of an alias only when it holds
 * no "'": ours all do ("'//'"), and none holds a '"' or a backslash. */
static ptrdiff_t arch_tnamerr(char *res, const char *str)
{
    size_t skip = *str == '"';
    size_t n = strlen(str + skip) - skip;
    if (res) {
        memcpy(res, str + skip, n);
        res[n] = '\0';
    }
    return (ptrdiff_t)n;
}

/* A syntax error at the lookahead token; at the end of the file, the
 * innermost bracket left open is the likely culprit.  bison says "memory
 * exhausted" for a full stack as well as for our out-of-memory abort. */
static void yyerror(YYLTYPE *loc, yyscan_t scanner, ArchParse *ctx, const char *msg)
{
    (void)scanner;
    if (!strcmp(msg, "memory exhausted"))
        msg = ctx->oom ? "out of memory" : "nesting too deep for the parser";
    diag(ctx->diags, DG_ERROR, *loc, "%s", msg);
    if (ctx->at_eof && ctx->nopen) {
        const ArchBracket *b = &ctx->open[ctx->nopen - 1];
        diag(ctx->diags, DG_NOTE, (Span){ctx->file, b->off, b->off + 1}, "to match this '%c'", b->c);
    }
}
