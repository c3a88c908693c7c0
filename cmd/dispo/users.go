package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"dispo/adapters/adminsock"
	"dispo/adapters/httpauth"
	"dispo/adapters/userfile"
	"dispo/adapters/web"
	"dispo/domain"
)

// userParams is the argon2id cost of new password hashes; zero means
// userfile.DefaultParams. Tests make it cheap.
var userParams userfile.Params

type usersVerb struct {
	name, synopsis, summary, help string
	run                           func(env *Env, verb *usersVerb, args []string) error
}

const passwordHelp = "The password is read from the first line of standard input (--password-stdin says so\n" +
	"explicitly), never from a flag: command lines are visible to every user of the machine\n" +
	"(ps, /proc) and stay in shell history. 12 to 256 characters, any of them; not containing the\n" +
	"identifier; not one of the common passwords of breach lists (a list ships with dispo), nor one\n" +
	"with digits or signs around it. A phrase of a few words is easy to remember and hard to guess.\n" +
	"On a terminal it is echoed as typed; to hide it: read -rs PW && printf '%s\\n' \"$PW\" | dispo users ..."

var usersVerbs = []*usersVerb{
	{"add", "ID --role ROLE [--name NAME] [--establishment FINESS]... [flags] < password",
		"create a login",
		"Creates the login ID (1 to 64 of A-Z a-z 0-9 . _ @ -) with role ROLE: responsable,\n" +
			"professionnel, analyst, auditor or admin. A responsable declares for the establishments\n" +
			"(FINESS) it is habilitated for: --establishment, repeated or comma-separated, or grant later.\n\n" +
			"A program that declares (bed-management software pushing figures through the FHIR PATCH or\n" +
			"the API) gets a responsable's account with --program: its declarations are recorded as\n" +
			"coming from it, with the national source code --capacity-source (02 bed management, the\n" +
			"default; 03 GAM; 04 DPI). Give it a token (users token ID); it keeps its password.\n\n" +
			passwordHelp,
		usersAdd},
	{"passwd", "ID [flags] < password", "change a password",
		"Replaces the password of ID and ends its sessions: at once on a server running on DATA\n" +
			"(through its admin socket DATA/admin.sock), else at their next request. Bearer tokens\n" +
			"stay valid (token --revoke withdraws them).\n\n" + passwordHelp,
		usersPasswd},
	{"grant", "ID FINESS... [flags]", "habilitate a responsable for establishments",
		"Habilitates the responsable ID to declare for the establishments FINESS (9 characters).\n" +
			"Takes effect at once, also on a running server.",
		usersGrant},
	{"revoke", "ID FINESS... [flags]", "withdraw habilitations",
		"Withdraws the habilitations of ID for the establishments FINESS. If ID is not habilitated\n" +
			"for one of them, nothing is withdrawn. Takes effect at once, also on a running server.",
		usersRevoke},
	{"list", "[flags]", "list the logins (no secrets)",
		"Lists the logins: identifier, role, establishments, number of bearer tokens, name.\n" +
			"Passwords and tokens are never shown (only their hashes are stored).",
		usersList},
	{"token", "ID [--revoke] [--display] [flags]", "issue (or revoke) a bearer token for a machine client or a wall screen",
		"Issues a bearer token for ID and prints it on standard output, once: only its hash is kept.\n" +
			"A machine client sends it as the header \"Authorization: Bearer <token>\" and needs no\n" +
			"session nor CSRF token. --display prints it as a display link instead (/affichage/<token>,\n" +
			"for a professionnel account): a wall screen shows the consultation, read-only and live, for\n" +
			"as long as it stays open. --revoke withdraws every token of ID, display links included.",
		usersToken},
	{"role", "ID ROLE [flags]", "change a role",
		"Changes the role of ID and ends its sessions, as passwd does. A responsable must have its\n" +
			"establishments revoked first.",
		usersRole},
	{"logout", "ID [flags]", "end the sessions of a login on the running server",
		"Ends every session of ID on the server running on DATA, through its admin socket\n" +
			"DATA/admin.sock (run it as the server's user). Sessions live in the server's memory only:\n" +
			"with no server running there is none to end. Bearer tokens are not sessions.",
		usersLogout},
	{"unlock", "ID [flags]", "let a login whose failed logins slow it down log in at once",
		"Forgets the failed logins of ID on the server running on DATA (through its admin socket\n" +
			"DATA/admin.sock), so that its user logs in at once from anywhere, e.g. while someone\n" +
			"guesses its password from elsewhere. The throttle lives in the server's memory only:\n" +
			"with no server running there is nothing to clear.",
		usersUnlock},
	{"remove", "ID [flags]", "delete a login",
		"Deletes the login ID with its tokens; its sessions end at their next request.",
		usersRemove},
}

func runUsers(ctx context.Context, env *Env, args []string) error {
	list := ""
	for _, v := range usersVerbs {
		list += fmt.Sprintf("  %-7s %s\n", v.name, v.summary)
	}
	usage := "Usage: dispo users <verb> [flags] [arguments]\n\n" +
		"Manages the logins and habilitations of the user file (--users, default DATA/users.json).\n" +
		"Changes take effect at once, also on a running server; logout and unlock act on the\n" +
		"server running on DATA, through its admin socket DATA/admin.sock.\n\nVerbs:\n" + list +
		"\nRun \"dispo users <verb> --help\" for a verb's flags.\n"
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(env.Stdout, usage)
		return nil
	}
	for _, v := range usersVerbs {
		if v.name == args[0] {
			return v.run(env, v, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "dispo users: unknown verb %q\n\n%s", args[0], usage)
	return errUsage
}

// usersCmd is a verb's command line: its flags, parsed arguments and file.
type usersCmd struct {
	env   *Env
	verb  *usersVerb
	fs    *flag.FlagSet
	data  *string
	users *string
	args  []string
}

func newUsersCmd(env *Env, v *usersVerb) *usersCmd {
	c := &usersCmd{env: env, verb: v, fs: env.flags("users "+v.name, v.synopsis, v.help)}
	c.data = env.dataFlag(c.fs)
	c.users = c.fs.String("users", env.Getenv("DISPO_USERS"), "user file (env DISPO_USERS; default DATA/users.json)")
	return c
}

// parse parses flags anywhere among the arguments ("add alice --role
// admin"); after "--" everything is an argument. It checks the count of
// arguments: at least min, at most max (-1: no limit).
func (c *usersCmd) parse(args []string, min, max int) error {
	for {
		if err := c.env.parse(c.fs, args); err != nil {
			return err
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			break
		}
		if i := len(args) - len(rest) - 1; i >= 0 && args[i] == "--" {
			c.args = append(c.args, rest...)
			break
		}
		c.args = append(c.args, rest[0])
		args = rest[1:]
	}
	if len(c.args) < min || max >= 0 && len(c.args) > max {
		c.fs.Usage()
		return errUsage
	}
	return nil
}

func (c *usersCmd) path() string {
	if *c.users != "" {
		return *c.users
	}
	return filepath.Join(*c.data, "users.json")
}

func (c *usersCmd) open() (*userfile.Store, error) {
	return userfile.Open(c.path(), userfile.Options{Now: c.env.Now, Params: userParams})
}

// fail words a refusal of the store for the command line.
func (c *usersCmd) fail(id string, err error) error {
	if domain.ErrorCode(err) == domain.EInternal {
		return err
	}
	return fmt.Errorf("%s %s: %s", c.verb.name, id, domain.ErrorMessage(err))
}

// readPassword reads the password from the first line of standard input.
func (c *usersCmd) readPassword(id string) (string, error) {
	if f, ok := c.env.Stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintf(c.env.Stderr, "Password for %s (12 to 256 characters; shown as typed), then Enter: ", id)
		}
	}
	const limit = 4 * userfile.MaxPasswordLen // bytes: 256 characters of up to 4 bytes
	line, err := bufio.NewReader(io.LimitReader(c.env.Stdin, limit+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	switch {
	case line == "":
		return "", fmt.Errorf("%s %s: no password on standard input (write it on the first line)", c.verb.name, id)
	case len(line) > limit:
		return "", fmt.Errorf("%s %s: the password is longer than %d characters", c.verb.name, id, userfile.MaxPasswordLen)
	}
	return line, nil
}

func checkIDArg(c *usersCmd, id string) error {
	if !userfile.ValidID(id) {
		return fmt.Errorf("%s: invalid identifier %q: 1 to 64 of A-Z a-z 0-9 . _ @ -", c.verb.name, id)
	}
	return nil
}

// finessList is a repeatable flag of FINESS, also comma-separated.
type finessList []string

func (l *finessList) String() string { return strings.Join(*l, ",") }
func (l *finessList) Set(s string) error {
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*l = append(*l, f)
		}
	}
	return nil
}

func usersAdd(env *Env, v *usersVerb, args []string) error {
	c := newUsersCmd(env, v)
	role := c.fs.String("role", "", "role: responsable, professionnel, analyst, auditor or admin (required)")
	name := c.fs.String("name", "", "display name (optional)")
	var finess finessList
	c.fs.Var(&finess, "establishment", "FINESS of an establishment a responsable declares for (repeat, or comma-separate)")
	c.fs.Bool("password-stdin", false, "the password comes from standard input: accepted for scripts that say so; it always does")
	keep := c.fs.Bool("keep-password", false, "the person keeps this password: they are not asked to choose their own at their first login on the web pages (for accounts of programs)")
	program := c.fs.Bool("program", false, "the account of a program that declares (bed-management software), not of a person: a responsable whose declarations carry --capacity-source")
	source := c.fs.String("capacity-source", domain.CapacitySourceBedManagement, "with --program: the national code its declarations carry: 02 bed management, 03 GAM, 04 DPI")
	if err := c.parse(args, 1, 1); err != nil {
		return err
	}
	sourceSet := false
	c.fs.Visit(func(f *flag.Flag) { sourceSet = sourceSet || f.Name == "capacity-source" })
	if sourceSet && !*program {
		return fmt.Errorf("add %s: --capacity-source is for a program's account: add --program", c.args[0])
	}
	if *program && domain.Role(*role) != domain.RoleResponsable {
		return fmt.Errorf("add %s: a program that declares has the role responsable, not %q", c.args[0], *role)
	}
	id := c.args[0]
	if *role == "" {
		fmt.Fprintln(env.Stderr, "dispo users add: --role is required")
		c.fs.Usage()
		return errUsage
	}
	if err := checkIDArg(c, id); err != nil {
		return err
	}
	if r := domain.Role(*role); !domain.ValidRole(r) || r == domain.RoleSystem {
		return fmt.Errorf("add %s: unknown role %q: responsable, professionnel, analyst, auditor or admin", id, *role)
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	if _, err := s.Get(id); err == nil {
		return fmt.Errorf("add %s: user %q already exists (passwd changes its password)", id, id)
	}
	pw, err := c.readPassword(id)
	if err != nil {
		return err
	}
	u := userfile.User{ID: id, Name: *name, Role: domain.Role(*role), Establishments: finess, MustChangePassword: !*keep && !*program}
	if *program {
		u.CapacitySource = *source
	}
	if err := s.Add(u, pw); err != nil {
		return c.fail(id, err)
	}
	info, err := s.Get(id)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "added %s (%s%s) to %s\n", id, info.Role, describeFINESS(info.Establishments), s.Path())
	if info.MustChangePassword {
		fmt.Fprintf(env.Stdout, "  %s chooses their own password at their first login on the web pages (/compte)\n", id)
	}
	if info.CapacitySource != "" {
		fmt.Fprintf(env.Stdout, "  a program's account: its declarations carry the capacity source %s; give it a token with: dispo users token %s\n", info.CapacitySource, id)
	}
	return nil
}

func describeFINESS(finess []string) string {
	if len(finess) == 0 {
		return ""
	}
	return ", habilitated for " + strings.Join(finess, ", ")
}

func usersPasswd(env *Env, v *usersVerb, args []string) error {
	c := newUsersCmd(env, v)
	c.fs.Bool("password-stdin", false, "the password comes from standard input: accepted for scripts that say so; it always does")
	if err := c.parse(args, 1, 1); err != nil {
		return err
	}
	id := c.args[0]
	s, err := c.open()
	if err != nil {
		return err
	}
	if _, err := s.Get(id); err != nil {
		return c.fail(id, err)
	}
	pw, err := c.readPassword(id)
	if err != nil {
		return err
	}
	if err := s.SetPassword(id, pw); err != nil {
		return c.fail(id, err)
	}
	fmt.Fprintf(env.Stdout, "changed the password of %s\n", id)
	c.endSessions(id)
	return nil
}

func usersGrant(env *Env, v *usersVerb, args []string) error {
	return usersHabilitations(env, v, args, (*userfile.Store).Grant)
}

func usersRevoke(env *Env, v *usersVerb, args []string) error {
	return usersHabilitations(env, v, args, (*userfile.Store).Revoke)
}

func usersHabilitations(env *Env, v *usersVerb, args []string, change func(*userfile.Store, string, ...string) error) error {
	c := newUsersCmd(env, v)
	if err := c.parse(args, 2, -1); err != nil {
		return err
	}
	id := c.args[0]
	s, err := c.open()
	if err != nil {
		return err
	}
	if err := change(s, id, c.args[1:]...); err != nil {
		return c.fail(id, err)
	}
	info, err := s.Get(id)
	if err != nil {
		return err
	}
	now := "no establishment"
	if len(info.Establishments) > 0 {
		now = strings.Join(info.Establishments, ", ")
	}
	fmt.Fprintf(env.Stdout, "%s is habilitated for %s\n", id, now)
	return nil
}

func usersList(env *Env, v *usersVerb, args []string) error {
	c := newUsersCmd(env, v)
	if err := c.parse(args, 0, 0); err != nil {
		return err
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	list, err := s.List()
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(env.Stderr, "no users in %s (dispo users add creates them)\n", s.Path())
		return nil
	}
	var buf strings.Builder
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tESTABLISHMENTS\tTOKENS\tNAME")
	for _, u := range list {
		est := strings.Join(u.Establishments, ",")
		if est == "" {
			est = "-"
		}
		role := string(u.Role)
		if u.CapacitySource != "" {
			role += " (program " + u.CapacitySource + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", u.ID, role, est, u.Tokens, u.Name)
	}
	tw.Flush()
	for line := range strings.Lines(buf.String()) {
		fmt.Fprintln(env.Stdout, strings.TrimRight(line, " \n"))
	}
	return nil
}

func usersToken(env *Env, v *usersVerb, args []string) error {
	c := newUsersCmd(env, v)
	revoke := c.fs.Bool("revoke", false, "withdraw every token of ID instead of issuing one")
	display := c.fs.Bool("display", false, "print the token as a display link for a wall screen: the consultation, read-only, live, with no session to time out (ID must be a professionnel)")
	if err := c.parse(args, 1, 1); err != nil {
		return err
	}
	id := c.args[0]
	s, err := c.open()
	if err != nil {
		return err
	}
	if *revoke {
		n, err := s.RevokeTokens(id)
		if err != nil {
			return c.fail(id, err)
		}
		fmt.Fprintf(env.Stdout, "revoked %d token(s) of %s\n", n, id)
		return nil
	}
	if *display {
		info, err := s.Get(id)
		if err != nil {
			return c.fail(id, err)
		}
		if info.Role != domain.RoleProfessionnel {
			return fmt.Errorf("token %s --display: %s is %s; a display link is for a professionnel account, which can only consult", id, id, info.Role)
		}
	}
	tok, err := s.NewToken(id)
	if err != nil {
		return c.fail(id, err)
	}
	if *display {
		fmt.Fprintf(env.Stderr, "display link for %s, shown this once: open the server's address followed by this path on the wall screen;\n"+
			"dispo users token %s --revoke ends it\n", id, id)
		fmt.Fprintln(env.Stdout, web.DisplayPrefix+tok)
		return nil
	}
	fmt.Fprintf(env.Stderr, "bearer token for %s, shown this once (send it as \"Authorization: Bearer <token>\"):\n", id)
	fmt.Fprintln(env.Stdout, tok)
	return nil
}

func usersRole(env *Env, v *usersVerb, args []string) error {
	c := newUsersCmd(env, v)
	if err := c.parse(args, 2, 2); err != nil {
		return err
	}
	id, role := c.args[0], domain.Role(c.args[1])
	s, err := c.open()
	if err != nil {
		return err
	}
	if err := s.SetRole(id, role); err != nil {
		return c.fail(id, err)
	}
	fmt.Fprintf(env.Stdout, "%s is %s\n", id, role)
	c.endSessions(id)
	return nil
}

func usersRemove(env *Env, v *usersVerb, args []string) error {
	c := newUsersCmd(env, v)
	if err := c.parse(args, 1, 1); err != nil {
		return err
	}
	id := c.args[0]
	s, err := c.open()
	if err != nil {
		return err
	}
	if err := s.Remove(id); err != nil {
		return c.fail(id, err)
	}
	fmt.Fprintf(env.Stdout, "removed %s\n", id)
	return nil
}

// admin sends the command at route to the server running on DATA; false
// if none runs there.
func (c *usersCmd) admin(route string, out any) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := adminsock.NewClient(c.socket()).Post(ctx, route, out)
	if errors.Is(err, adminsock.ErrNotRunning) {
		return false, nil
	}
	return err == nil, err
}

func (c *usersCmd) socket() string { return adminsock.PathIn(*c.data) }

// endSessions ends the sessions of id on the running server, if any, after
// its password or role changed. The change is made: if the server cannot
// be reached, the sessions end at their next request anyway (the server
// sees the file change), so this only warns.
func (c *usersCmd) endSessions(id string) {
	var out httpauth.AdminLogout
	running, err := c.admin("/v1/users/"+id+"/logout", &out)
	switch {
	case err != nil:
		fmt.Fprintf(c.env.Stderr, "attention : le serveur n'a pas pu être joint sur %s (%s) ; les sessions de %s prendront fin à leur prochaine requête\n",
			c.socket(), domain.ErrorMessage(err), id)
	case running:
		fmt.Fprintf(c.env.Stdout, "%s : %s sur le serveur en marche\n", id, sessionsEnded(out.SessionsEnded))
	}
}

func sessionsEnded(n int) string {
	switch n {
	case 0:
		return "aucune session en cours"
	case 1:
		return "1 session terminée"
	}
	return fmt.Sprintf("%d sessions terminées", n)
}

// adminUser parses the one identifier of logout and unlock and checks that
// it is a user of the file.
func (c *usersCmd) adminUser(args []string) (string, error) {
	if err := c.parse(args, 1, 1); err != nil {
		return "", err
	}
	id := c.args[0]
	if err := checkIDArg(c, id); err != nil {
		return "", err
	}
	s, err := c.open()
	if err != nil {
		return "", err
	}
	if _, err := s.Get(id); err != nil {
		return "", c.fail(id, err)
	}
	return id, nil
}

// adminFail words a failure of the admin socket.
func (c *usersCmd) adminFail(id string, err error) error {
	if code := domain.ErrorCode(err); code != domain.EInternal {
		return c.fail(id, err)
	}
	return fmt.Errorf("%s %s: %w (run the command as the server's user)", c.verb.name, id, err)
}

func usersLogout(env *Env, v *usersVerb, args []string) error {
	c := newUsersCmd(env, v)
	id, err := c.adminUser(args)
	if err != nil {
		return err
	}
	var out httpauth.AdminLogout
	running, err := c.admin("/v1/users/"+id+"/logout", &out)
	switch {
	case err != nil:
		return c.adminFail(id, err)
	case !running:
		fmt.Fprintf(env.Stdout, "aucun serveur ne tourne sur %s (pas de socket %s) : les sessions ne vivent que dans la mémoire du serveur, %s n'en a aucune à terminer\n",
			*c.data, c.socket(), id)
		return nil
	}
	fmt.Fprintf(env.Stdout, "%s : %s\n", id, sessionsEnded(out.SessionsEnded))
	return nil
}

func usersUnlock(env *Env, v *usersVerb, args []string) error {
	c := newUsersCmd(env, v)
	id, err := c.adminUser(args)
	if err != nil {
		return err
	}
	var out httpauth.AdminUnlock
	running, err := c.admin("/v1/users/"+id+"/unlock", &out)
	switch {
	case err != nil:
		return c.adminFail(id, err)
	case !running:
		fmt.Fprintf(env.Stdout, "aucun serveur ne tourne sur %s (pas de socket %s) : les échecs de connexion ne sont comptés que dans la mémoire du serveur, il n'y a rien à effacer pour %s\n",
			*c.data, c.socket(), id)
		return nil
	case out.KeysCleared == 0:
		fmt.Fprintf(env.Stdout, "%s n'était pas ralenti : rien à effacer\n", id)
		return nil
	}
	fmt.Fprintf(env.Stdout, "%s peut se connecter à nouveau tout de suite : ses échecs de connexion sont effacés\n", id)
	return nil
}
