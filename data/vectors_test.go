package data

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opt     CSVOptions
		n, d    int
		labels  []int
		classes string
		wantErr string
	}{
		{name: "no header", in: "1,2\n3,4\n5,6\n", n: 3, d: 2},
		{name: "detected header", in: "a,b\n1,2\n", n: 1, d: 2},
		{name: "numeric header forced", in: "0,1\n1,2\n", opt: CSVOptions{Header: HeaderYes}, n: 1, d: 2},
		{name: "integer labels", in: "x,label,y\n1,3,2\n3,0,4\n", opt: CSVOptions{LabelColumn: "label"}, n: 2, d: 2, labels: []int{3, 0}, classes: "0,1,2,3"},
		{name: "string labels sorted", in: "x,kind\n1,dog\n2,cat\n3,dog\n", opt: CSVOptions{LabelColumn: "kind"}, n: 3, d: 1, labels: []int{1, 0, 1}, classes: "cat,dog"},
		{name: "semicolons", in: "1;2\n", opt: CSVOptions{Comma: ';'}, n: 1, d: 2},
		{name: "empty file", in: "", wantErr: "empty file"},
		{name: "header only", in: "a,b\n", wantErr: "no data rows"},
		{name: "not a number", in: "a,b\n1,2\n3,x\n", wantErr: `line 3, column "b": "x"`},
		{name: "NaN", in: "1,NaN\n", wantErr: "line 1, column 2"},
		{name: "ragged rows", in: "1,2\n3\n", wantErr: "wrong number of fields"},
		{name: "missing label column", in: "a,b\n1,2\n", opt: CSVOptions{LabelColumn: "label"}, wantErr: `no column named "label"`},
		{name: "label column without header", in: "1,2\n", opt: CSVOptions{LabelColumn: "label"}, wantErr: "no header"},
		{name: "only a label column", in: "label\n1\n", opt: CSVOptions{LabelColumn: "label"}, wantErr: "no feature columns"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := ReadCSV(strings.NewReader(tc.in), "v.csv", tc.opt)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "v.csv") {
					t.Fatalf("err = %v, want one naming v.csv containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != tc.n || ds.W != tc.d || ds.C != 1 || ds.H != 1 {
				t.Fatalf("n %d d %d", ds.Len(), ds.W)
			}
			for i, l := range tc.labels {
				if s, _ := ds.Get(i); s.Label != l {
					t.Fatalf("label %d = %d, want %d", i, s.Label, l)
				}
			}
			if got := strings.Join(ds.Classes(), ","); got != tc.classes {
				t.Fatalf("classes %q, want %q", got, tc.classes)
			}
		})
	}
	ds, _ := ReadCSV(strings.NewReader("x,label,y\n1.5,3,-2\n"), "v.csv", CSVOptions{LabelColumn: "label"})
	if s, _ := ds.Get(0); s.Image.Pix[0] != 1.5 || s.Image.Pix[1] != -2 {
		t.Fatalf("values %v", s.Image.Pix)
	}
}

// npyFile builds a version-1 .npy file by hand.
func npyFile(descr, shape string, body []byte) []byte {
	h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	b.Write(body)
	return b.Bytes()
}

func le(vals ...any) []byte {
	var b bytes.Buffer
	for _, v := range vals {
		binary.Write(&b, binary.LittleEndian, v)
	}
	return b.Bytes()
}

func TestReadNPY(t *testing.T) {
	tests := []npyCase{
		{"float32 matrix", npyFile("<f4", "(2, 2)", le([]float32{1, 2, 3, 4.5})), []int{2, 2}, []float32{1, 2, 3, 4.5}, ""},
		{"float64 vector", npyFile("<f8", "(3,)", le([]float64{1, -2, 0.25})), []int{3}, []float32{1, -2, 0.25}, ""},
		{"int64", npyFile("<i8", "(2,)", le([]int64{-7, 9})), []int{2}, []float32{-7, 9}, ""},
		{"int32", npyFile("<i4", "(1, 2)", le([]int32{5, -5})), []int{1, 2}, []float32{5, -5}, ""},
		{"uint8", npyFile("|u1", "(1, 1, 2)", []byte{0, 255}), []int{1, 1, 2}, []float32{0, 255}, ""},
		{"bool", npyFile("|b1", "(2,)", []byte{1, 0}), []int{2}, []float32{1, 0}, ""},
		{"empty array", npyFile("<f4", "(0, 3)", nil), []int{0, 3}, []float32{}, ""},
		{"truncated body", npyFile("<f4", "(2, 2)", le([]float32{1, 2, 3})), nil, nil, "truncated"},
		{"body too long", npyFile("<f4", "(1,)", le([]float32{1, 2})), nil, nil, "longer"},
		{"big endian", npyFile(">f4", "(1,)", le(float32(1))), nil, nil, "big-endian"},
		{"complex", npyFile("<c8", "(1,)", le(float64(1))), nil, nil, "unsupported dtype"},
		{"fortran order", []byte(strings.Replace(string(npyFile("<f4", "(1,)", le(float32(1)))), "False", "True", 1)), nil, nil, "C-order"},
		{"huge shape", npyFile("<f8", "(1000000, 1000000)", nil), nil, nil, "limit"},
		{"bad magic", []byte("PK\x03\x04 a zip file"), nil, nil, "bad magic"},
		{"empty file", nil, nil, nil, "header"},
		{"float32, several read blocks", npyFile("<f4", "(40001,)", le(ramp32(40001))), []int{40001}, ramp32(40001), ""},
		{"float64, several read blocks", npyFile("<f8", "(3, 7001)", le(ramp64(21003))), []int{3, 7001}, ramp32(21003), ""},
		{"uint8, several read blocks", npyFile("|u1", "(70000,)", ramp8(70000)), []int{70000}, ramp8f(70000), ""},
	}
	// Every case through a reader, and through a file: ReadNPYFile decodes a file whose size
	// matches its header straight into the result, block by block.
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ReadNPY(bytes.NewReader(tc.in), "a.npy")
			tc.check(t, a, err)
			p := filepath.Join(t.TempDir(), "a.npy")
			if err := os.WriteFile(p, tc.in, 0o644); err != nil {
				t.Fatal(err)
			}
			a, err = ReadNPYFile(p)
			tc.check(t, a, err)
		})
	}
}

type npyCase struct {
	name    string
	in      []byte
	shape   []int
	data    []float32
	wantErr string
}

func (tc npyCase) check(t *testing.T, a *NPYArray, err error) {
	t.Helper()
	if tc.wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "a.npy") {
			t.Fatalf("err = %v, want one naming a.npy containing %q", err, tc.wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != len(tc.shape) || len(a.Data) != len(tc.data) || maxDiff(a.Data, tc.data) != 0 {
		t.Fatalf("shape %v, %d values", a.Shape, len(a.Data))
	}
	for i, d := range tc.shape {
		if a.Shape[i] != d {
			t.Fatalf("shape %v, want %v", a.Shape, tc.shape)
		}
	}
}

func ramp32(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)*0.5 - 7
	}
	return v
}

func ramp64(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i)*0.5 - 7
	}
	return v
}

func ramp8(n int) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(i * 7)
	}
	return v
}

func ramp8f(n int) []float32 {
	v := make([]float32, n)
	for i, b := range ramp8(n) {
		v[i] = float32(b)
	}
	return v
}

func TestWriteNPYRoundTrip(t *testing.T) {
	data := []float32{1, 2, 3, 4, 5, float32(math.Pi)}
	var b bytes.Buffer
	if err := WriteNPY(&b, data, 2, 3); err != nil {
		t.Fatal(err)
	}
	if (b.Len()-len(data)*4)%64 != 0 {
		t.Fatalf("data does not start at a multiple of 64 bytes (header %d)", b.Len()-len(data)*4)
	}
	a, err := ReadNPY(&b, "rt")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != 2 || a.Shape[0] != 2 || a.Shape[1] != 3 || maxDiff(a.Data, data) != 0 || a.Dtype != "<f4" {
		t.Fatalf("%+v", a)
	}
	if err := WriteNPY(&b, data, 4, 4); err == nil {
		t.Fatal("shape mismatch: no error")
	}
	p := filepath.Join(t.TempDir(), "e.npy")
	if err := WriteNPYFile(p, data, 3, 2); err != nil {
		t.Fatal(err)
	}
	ds, err := OpenNPY(p, "")
	if err != nil || ds.Len() != 3 {
		t.Fatalf("%v", err)
	}
}

func TestOpenNPY(t *testing.T) {
	dir := t.TempDir()
	imgs := filepath.Join(dir, "x.npy")
	lbls := filepath.Join(dir, "y.npy")
	os.WriteFile(imgs, npyFile("|u1", "(2, 1, 2)", []byte{0, 255, 51, 102}), 0o644)
	os.WriteFile(lbls, npyFile("<i8", "(2,)", le([]int64{1, 0})), 0o644)
	ds, err := OpenNPY(imgs, lbls)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := ds.Get(1)
	if s.Label != 0 || s.Image.H != 1 || s.Image.W != 2 || s.Image.Pix[0] != 0.2 || len(ds.Classes()) != 2 {
		t.Fatalf("%+v %v", s, ds.Classes())
	}
	os.WriteFile(lbls, npyFile("<f4", "(2,)", le([]float32{1, 0.5})), 0o644)
	if _, err := OpenNPY(imgs, lbls); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(lbls, npyFile("<i4", "(3,)", le([]int32{1, 0, 1})), 0o644)
	if _, err := OpenNPY(imgs, lbls); err == nil || !strings.Contains(err.Error(), "2 samples but 3 labels") {
		t.Fatalf("err = %v", err)
	}
}
