// argocd-health evaluates an Argo CD resource health script the way Argo CD's controller does for a script
// configured in argocd-cm (resource.customizations.health.<group>_<Kind>): gopher-lua with the standard libraries
// skipped, then only package, base, table and a "safe" os (time, date) opened; the object is the global `obj`,
// converted from the unstructured map the way Argo CD's util/lua decodeValue does (objects become hash tables,
// arrays become sequences, integers and floats become numbers, null is absent); a 1 second timeout; the script's
// last returned value must be a table, encoded to JSON and read as {status, message}; a status outside Argo CD's
// six health codes becomes Unknown with Argo CD's own message.
//
// Usage: argocd-health --script health.lua < objects.jsonl
// Reads one JSON object per input line and writes one JSON line per object:
// {"status":"Healthy","message":"..."} or {"error":"..."} when the script fails (Argo CD then shows the error).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
)

// The health codes Argo CD accepts from a script (gitops-engine pkg/health).
var validStatuses = map[string]bool{
	"Unknown": true, "Progressing": true, "Suspended": true, "Healthy": true, "Degraded": true, "Missing": true,
}

const invalidHealthStatus = "Lua returned an invalid health status"

type result struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

func main() {
	scriptPath := flag.String("script", "", "path of the health.lua script to evaluate (required)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: argocd-health --script health.lua < objects.jsonl\n"+
			"Evaluates an Argo CD health script in gopher-lua with Argo CD's sandbox for every JSON object on stdin\n"+
			"(one per line) and prints one JSON line per object: {\"status\",\"message\"} or {\"error\"}.\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *scriptPath == "" {
		flag.Usage()
		os.Exit(2)
	}
	script, err := os.ReadFile(*scriptPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := evaluateLines(string(script), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func evaluateLines(script string, in *os.File, out *os.File) error {
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	enc := json.NewEncoder(out)
	for scanner.Scan() {
		line := bytes.TrimSpace(scanner.Bytes())
		if len(line) == 0 {
			continue
		}
		obj, err := decodeObject(line)
		if err != nil {
			return fmt.Errorf("input is not a JSON object: %w", err)
		}
		if err := enc.Encode(evaluate(script, obj)); err != nil {
			return err
		}
	}
	return scanner.Err()
}

// decodeObject reads JSON as the controller's unstructured objects hold it: whole numbers as int64, others float64.
func decodeObject(line []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	converted, ok := convertNumbers(obj).(map[string]any)
	if !ok {
		return nil, errors.New("not an object")
	}
	return converted, nil
}

func convertNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = convertNumbers(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = convertNumbers(x[k])
		}
		return x
	}
	return v
}

func evaluate(script string, obj map[string]any) result {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openSafeOs},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return result{Error: fmt.Sprintf("opening %s: %v", lib.name, err)}
		}
	}
	l.PreloadModule(lua.OsLibName, safeOsLoader)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return result{Error: err.Error()}
	}
	returned := l.Get(-1)
	if returned.Type() != lua.LTTable {
		return result{Error: fmt.Sprintf("expect table output from Lua script, not %s", returned.Type().String())}
	}
	encoded, err := luajson.Encode(returned)
	if err != nil {
		return result{Error: err.Error()}
	}
	var hs struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(encoded, &hs); err != nil {
		return result{Error: err.Error()}
	}
	if !validStatuses[hs.Status] {
		return result{Status: "Unknown", Message: invalidHealthStatus}
	}
	return result{Status: hs.Status, Message: hs.Message}
}

// toLua mirrors Argo CD's decodeValue: anything it does not know (there is nothing else after JSON) becomes nil.
func toLua(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		arr := l.CreateTable(len(v), 0)
		for _, item := range v {
			arr.Append(toLua(l, item))
		}
		return arr
	case map[string]any:
		tbl := l.CreateTable(0, len(v))
		for key, item := range v {
			tbl.RawSetH(lua.LString(key), toLua(l, item))
		}
		return tbl
	}
	return lua.LNil
}

// The "safe" os library Argo CD opens: only time and date, nothing that exits, reads files or runs commands.
var safeOsFuncs = map[string]lua.LGFunction{"time": osTime, "date": osDate}

func openSafeOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.OsLibName, safeOsFuncs))
	return 1
}

func safeOsLoader(l *lua.LState) int {
	l.Push(l.SetFuncs(l.NewTable(), safeOsFuncs))
	return 1
}

func osTime(l *lua.LState) int {
	if l.GetTop() == 0 {
		l.Push(lua.LNumber(time.Now().Unix()))
		return 1
	}
	tbl := l.CheckTable(1)
	field := func(name string, def int) int {
		if n, ok := tbl.RawGetString(name).(lua.LNumber); ok {
			return int(n)
		}
		return def
	}
	t := time.Date(field("year", -1), time.Month(field("month", -1)), field("day", -1),
		field("hour", 12), field("min", 0), field("sec", 0), 0, time.Local)
	l.Push(lua.LNumber(t.Unix()))
	return 1
}

// osDate supports what health scripts use: no argument, or a format with an optional leading "!" for UTC and an
// optional timestamp; "%c"-style specifiers other than the common ones are passed through unchanged.
func osDate(l *lua.LState) int {
	t := time.Now()
	format := "%c"
	if l.GetTop() >= 1 {
		format = l.CheckString(1)
		if len(format) > 0 && format[0] == '!' {
			format = format[1:]
			t = t.UTC()
		}
		if l.GetTop() >= 2 {
			t = time.Unix(l.CheckInt64(2), 0)
		}
	}
	layouts := map[byte]string{'Y': "2006", 'm': "01", 'd': "02", 'H': "15", 'M': "04", 'S': "05", 'c': "02 Jan 06 15:04 MST"}
	var out bytes.Buffer
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) {
			if layout, ok := layouts[format[i+1]]; ok {
				out.WriteString(t.Format(layout))
				i++
				continue
			}
		}
		out.WriteByte(format[i])
	}
	l.Push(lua.LString(out.String()))
	return 1
}
