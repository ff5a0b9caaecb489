/*
** gen_twins: writes the synthetic twins of all-MiniLM-L6-v2 and
** ms-marco-MiniLM-L-6-v2 that the tests and benches run on.
**
**   gen_twins SHARED_MODELS_DIR OUT_DIR
**     -> OUT_DIR/minilm-l6-embed/ and OUT_DIR/minilm-l6-rerank/
**
** This is a C11 port of shared/models/synthetic/generate.mjs, so that a build
** needs no Node.  The trained weights cannot be downloaded where this project
** is built, so the twins keep the real tokenizer files, architecture, tensor
** names, shapes and dtypes, and fill the weights with a deterministic stream.
** The output must match shared/models/synthetic/SHA256SUMS byte for byte,
** which is why every step below mirrors the JavaScript exactly:
**
**   - the RNG is 32-bit integer arithmetic (Math.imul and >>>0 are uint32
**     multiplication and wrap-around);
**   - values are computed in double and rounded once to float, with no FMA
**     (the Makefile compiles with -ffp-contract=off) and no x87 excess
**     precision (x86-64 uses SSE2 for double);
**   - the header is exactly what JSON.stringify prints for the JS object:
**     __metadata__ first, then tensors in sorted order, no spaces, integers;
**   - bytes are written little-endian whatever the host.
**
** Every file is written to a temporary name and renamed into place, so an
** interrupted run never leaves a half-written model behind.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define H       384
#define FF      1536
#define LAYERS  6
#define VOCAB   30522
#define POS     512
#define TYPES   2

#define MAX_TENSOR 128
#define MAX_PATH   4096
#define CHUNK      65536      /* floats generated and written per step */

typedef struct Tensor Tensor;
struct Tensor {
  char zName[96];
  int nDim;
  uint64_t aShape[2];
  char kind;                  /* 'w','e','b','g','n' as in generate.mjs; 'i' = I64 0..n-1 */
  uint64_t nByte;
};

typedef struct TensorList TensorList;
struct TensorList {
  int n;
  Tensor a[MAX_TENSOR];
};

/* A file being written under a temporary name until outCommit(). */
typedef struct Out Out;
struct Out {
  FILE *f;
  char zDst[MAX_PATH];
  char zTmp[MAX_PATH + 32];
};

static const char *zArgv0 = "gen_twins";

/* The temp file being written, removed if the run is interrupted, so that
** Ctrl-C does not leave 90 MB of litter next to the models. */
static const char *volatile zPendingTmp = 0;

static void onSignal(int sig){
  const char *z = zPendingTmp;
  if( z ) unlink(z);
  signal(sig, SIG_DFL);
  raise(sig);
}

static int errorMsg(const char *zFmt, ...){
  va_list ap;
  fprintf(stderr, "%s: ", zArgv0);
  va_start(ap, zFmt);
  vfprintf(stderr, zFmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return 1;
}

static int joinPath(char *zBuf, size_t nBuf, const char *zA, const char *zB){
  int n = snprintf(zBuf, nBuf, "%s/%s", zA, zB);
  if( n<0 || (size_t)n>=nBuf ) return errorMsg("path too long: %s/%s", zA, zB);
  return 0;
}

/* mkdir -p of the directory part of zFile (everything before the last '/'). */
static int makeParentDirs(const char *zFile){
  char z[MAX_PATH];
  size_t n = strlen(zFile), i;
  struct stat st;
  if( n>=sizeof(z) ) return errorMsg("path too long: %s", zFile);
  memcpy(z, zFile, n+1);
  while( n>0 && z[n-1]!='/' ) n--;
  if( n==0 ) return 0;
  z[n-1] = 0;
  for(i=1; ; i++){
    char c = z[i];
    if( c=='/' || c==0 ){
      z[i] = 0;
      if( mkdir(z, 0777)!=0 && errno!=EEXIST ){
        return errorMsg("cannot create directory %s: %s", z, strerror(errno));
      }
      if( stat(z, &st)!=0 || !S_ISDIR(st.st_mode) ){
        return errorMsg("%s exists and is not a directory", z);
      }
      z[i] = c;
    }
    if( c==0 ) break;
  }
  return 0;
}

static int outOpen(Out *p, const char *zDst){
  size_t n = strlen(zDst);
  if( n>=sizeof(p->zDst) ) return errorMsg("path too long: %s", zDst);
  memcpy(p->zDst, zDst, n+1);
  /* The pid keeps two concurrent runs from writing into the same temp file. */
  snprintf(p->zTmp, sizeof(p->zTmp), "%s.tmp%ld", zDst, (long)getpid());
  if( makeParentDirs(zDst) ) return 1;
  p->f = fopen(p->zTmp, "wb");
  if( p->f==0 ) return errorMsg("cannot create %s: %s", p->zTmp, strerror(errno));
  zPendingTmp = p->zTmp;
  return 0;
}

static int outWrite(Out *p, const void *pData, size_t n){
  if( n>0 && fwrite(pData, 1, n, p->f)!=n ){
    return errorMsg("cannot write %s: %s", p->zTmp, strerror(errno));
  }
  return 0;
}

static void outAbort(Out *p){
  if( p->f ) fclose(p->f);
  p->f = 0;
  remove(p->zTmp);
  zPendingTmp = 0;
}

/* fsync before rename: otherwise a crash could leave the final name pointing
** at a file whose data never reached the disk. */
static int outCommit(Out *p){
  int rc = fflush(p->f)!=0 || fsync(fileno(p->f))!=0;
  if( fclose(p->f)!=0 ) rc = 1;
  p->f = 0;
  if( rc ){
    errorMsg("cannot write %s: %s", p->zTmp, strerror(errno));
  }else if( rename(p->zTmp, p->zDst)!=0 ){
    errorMsg("cannot rename %s to %s: %s", p->zTmp, p->zDst, strerror(errno));
    rc = 1;
  }
  if( rc ) remove(p->zTmp);
  zPendingTmp = 0;
  return rc;
}

static int copyFile(const char *zFrom, const char *zTo){
  static unsigned char aBuf[CHUNK];
  Out out;
  size_t n;
  FILE *in = fopen(zFrom, "rb");
  if( in==0 ) return errorMsg("cannot open %s: %s", zFrom, strerror(errno));
  if( outOpen(&out, zTo) ){ fclose(in); return 1; }
  while( (n = fread(aBuf, 1, sizeof(aBuf), in))>0 ){
    if( outWrite(&out, aBuf, n) ){ fclose(in); outAbort(&out); return 1; }
  }
  if( ferror(in) ){
    errorMsg("cannot read %s: %s", zFrom, strerror(errno));
    fclose(in);
    outAbort(&out);
    return 1;
  }
  fclose(in);
  return outCommit(&out);
}

/* Copy each of the NULL-terminated azFile from directory zFrom to zTo. */
static int copyFiles(const char *zFrom, const char *zTo, const char **azFile){
  char zA[MAX_PATH], zB[MAX_PATH];
  for(; *azFile; azFile++){
    if( joinPath(zA, sizeof(zA), zFrom, *azFile) ) return 1;
    if( joinPath(zB, sizeof(zB), zTo, *azFile) ) return 1;
    if( copyFile(zA, zB) ) return 1;
  }
  return 0;
}

/*
** The weight stream.  seedOf() is FNV-1a over the UTF-8 name; the tensor
** names are ASCII, so bytes and chars coincide.  The JS code mixes int32 and
** uint32 views of the same bits, but every operation it uses (^, |, +, imul
** then ToInt32/ToUint32) is arithmetic modulo 2^32, so uint32_t is exact.
*/
static uint32_t seedOf(const char *zName){
  uint32_t h = 0x811c9dc5u;
  const unsigned char *z = (const unsigned char*)zName;
  for(; *z; z++) h = (h ^ *z) * 0x01000193u;
  return h;
}

/* mulberry32, reduced to a 24-bit integer. */
static uint32_t mulberry(uint32_t *pA){
  uint32_t t;
  *pA += 0x6D2B79F5u;
  t = *pA;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return (t ^ (t >> 14)) >> 8;
}

static void kindScale(char kind, double *pMul, double *pAdd){
  switch( kind ){
    case 'b': *pMul = 0.02; *pAdd = 0; break;
    case 'g': *pMul = 0.2;  *pAdd = 1; break;
    default:  *pMul = 0.05; *pAdd = 0; break;   /* 'w', 'e', 'n' */
  }
}

static void putLE32(unsigned char *p, uint32_t v){
  p[0] = (unsigned char)v;       p[1] = (unsigned char)(v>>8);
  p[2] = (unsigned char)(v>>16); p[3] = (unsigned char)(v>>24);
}
static void putLE64(unsigned char *p, uint64_t v){
  putLE32(p, (uint32_t)v);
  putLE32(p+4, (uint32_t)(v>>32));
}

/* Generate the tensor's bytes in chunks; the RNG state carries across. */
static int writeTensor(Out *pOut, const Tensor *pT){
  static unsigned char aBuf[CHUNK*8];
  uint64_t n = pT->nByte / (pT->kind=='i' ? 8 : 4);
  uint64_t i = 0;
  if( pT->kind=='i' ){
    while( i<n ){
      size_t k = 0;
      for(; i<n && k<CHUNK; i++, k++) putLE64(aBuf + 8*k, i);
      if( outWrite(pOut, aBuf, 8*k) ) return 1;
    }
  }else{
    uint32_t a = seedOf(pT->zName);
    const double s3 = sqrt(3.0) / 16777216.0;
    double mul, add;
    kindScale(pT->kind, &mul, &add);
    while( i<n ){
      size_t k = 0;
      for(; i<n && k<CHUNK; i++, k++){
        /* The sum of four 24-bit integers is exact in both int64 and double. */
        int64_t s = (int64_t)mulberry(&a) + mulberry(&a);
        double g;
        float f;
        uint32_t u;
        s += (int64_t)mulberry(&a) + mulberry(&a);
        g = (double)(s - 2*16777216) * s3;
        f = (float)(g*mul + add);     /* Math.fround(g[i]*mul + add) */
        memcpy(&u, &f, 4);
        putLE32(aBuf + 4*k, u);
      }
      if( outWrite(pOut, aBuf, 4*k) ) return 1;
    }
  }
  return 0;
}

/* Growable string for the JSON header. */
typedef struct Str Str;
struct Str {
  char *z;
  size_t n, nAlloc;
};

static int strAppendf(Str *p, const char *zFmt, ...){
  va_list ap;
  int n;
  for(;;){
    va_start(ap, zFmt);
    n = vsnprintf(p->z ? p->z + p->n : 0, p->nAlloc - p->n, zFmt, ap);
    va_end(ap);
    if( n<0 ) return errorMsg("formatting error");
    if( p->n + (size_t)n < p->nAlloc ) break;
    {
      size_t nNew = 2*(p->n + (size_t)n + 1);
      char *zNew = realloc(p->z, nNew);
      if( zNew==0 ) return errorMsg("out of memory");
      p->z = zNew;
      p->nAlloc = nNew;
    }
  }
  p->n += (size_t)n;
  return 0;
}

static int tensorCmp(const void *pA, const void *pB){
  return strcmp(((const Tensor*)pA)->zName, ((const Tensor*)pB)->zName);
}

/*
** safetensors: u64 header length, JSON header, raw data.  The header must be
** what JSON.stringify gives for { __metadata__: { format: 'pt' }, name: {
** dtype, shape, data_offsets }, ... } with names sorted as JS '<' sorts them.
** The names are ASCII, where '<' and strcmp() agree, and they need no JSON
** escaping.  The header is padded with spaces to a multiple of 8 bytes.
*/
static int writeSafetensors(const char *zPath, TensorList *pList){
  Str hdr = {0, 0, 0};
  uint64_t off = 0;
  unsigned char aLen[8];
  Out out;
  int i;

  qsort(pList->a, (size_t)pList->n, sizeof(Tensor), tensorCmp);
  if( strAppendf(&hdr, "{\"__metadata__\":{\"format\":\"pt\"}") ) goto fail;
  for(i=0; i<pList->n; i++){
    Tensor *pT = &pList->a[i];
    if( strAppendf(&hdr, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%llu",
          pT->zName, pT->kind=='i' ? "I64" : "F32",
          (unsigned long long)pT->aShape[0]) ) goto fail;
    if( pT->nDim==2
     && strAppendf(&hdr, ",%llu", (unsigned long long)pT->aShape[1]) ) goto fail;
    if( strAppendf(&hdr, "],\"data_offsets\":[%llu,%llu]}",
          (unsigned long long)off, (unsigned long long)(off + pT->nByte)) ){
      goto fail;
    }
    off += pT->nByte;
  }
  if( strAppendf(&hdr, "}") ) goto fail;
  while( hdr.n % 8 ){
    if( strAppendf(&hdr, " ") ) goto fail;
  }
  putLE64(aLen, hdr.n);

  if( outOpen(&out, zPath) ) goto fail;
  if( outWrite(&out, aLen, 8) || outWrite(&out, hdr.z, hdr.n) ){
    outAbort(&out);
    goto fail;
  }
  for(i=0; i<pList->n; i++){
    if( writeTensor(&out, &pList->a[i]) ){
      outAbort(&out);
      goto fail;
    }
  }
  free(hdr.z);
  return outCommit(&out);

fail:
  free(hdr.z);
  return 1;
}

static int addTensor(
  TensorList *p, const char *zPrefix, const char *zName,
  uint64_t d0, uint64_t d1, char kind
){
  Tensor *pT;
  int n;
  if( p->n>=MAX_TENSOR ) return errorMsg("too many tensors");
  pT = &p->a[p->n++];
  n = snprintf(pT->zName, sizeof(pT->zName), "%s%s", zPrefix, zName);
  if( n<0 || (size_t)n>=sizeof(pT->zName) ) return errorMsg("tensor name too long");
  pT->nDim = d1 ? 2 : 1;
  pT->aShape[0] = d0;
  pT->aShape[1] = d1;
  pT->kind = kind;
  pT->nByte = d0 * (d1 ? d1 : 1) * (kind=='i' ? 8 : 4);
  return 0;
}

/* The tensors of a BertModel, every name prefixed by zPrefix. */
static int addBert(TensorList *p, const char *zPrefix){
  static const char *azAttn[] = {
    "attention.self.query", "attention.self.key",
    "attention.self.value", "attention.output.dense"
  };
  char z[96];
  int i, j;
  if( addTensor(p, zPrefix, "embeddings.word_embeddings.weight", VOCAB, H, 'e')
   || addTensor(p, zPrefix, "embeddings.position_embeddings.weight", POS, H, 'e')
   || addTensor(p, zPrefix, "embeddings.token_type_embeddings.weight", TYPES, H, 'e')
   || addTensor(p, zPrefix, "embeddings.LayerNorm.weight", H, 0, 'g')
   || addTensor(p, zPrefix, "embeddings.LayerNorm.bias", H, 0, 'n') ){
    return 1;
  }
  for(i=0; i<LAYERS; i++){
    char zL[64];
    snprintf(zL, sizeof(zL), "%sencoder.layer.%d.", zPrefix, i);
    for(j=0; j<4; j++){
      snprintf(z, sizeof(z), "%s.weight", azAttn[j]);
      if( addTensor(p, zL, z, H, H, 'w') ) return 1;
      snprintf(z, sizeof(z), "%s.bias", azAttn[j]);
      if( addTensor(p, zL, z, H, 0, 'b') ) return 1;
    }
    if( addTensor(p, zL, "attention.output.LayerNorm.weight", H, 0, 'g')
     || addTensor(p, zL, "attention.output.LayerNorm.bias", H, 0, 'n')
     || addTensor(p, zL, "intermediate.dense.weight", FF, H, 'w')
     || addTensor(p, zL, "intermediate.dense.bias", FF, 0, 'b')
     || addTensor(p, zL, "output.dense.weight", H, FF, 'w')
     || addTensor(p, zL, "output.dense.bias", H, 0, 'b')
     || addTensor(p, zL, "output.LayerNorm.weight", H, 0, 'g')
     || addTensor(p, zL, "output.LayerNorm.bias", H, 0, 'n') ){
      return 1;
    }
  }
  return addTensor(p, zPrefix, "pooler.dense.weight", H, H, 'w')
      || addTensor(p, zPrefix, "pooler.dense.bias", H, 0, 'b');
}

int main(int argc, char **argv){
  static const char *azEmbed[] = {
    "config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
    "config_sentence_transformers.json", "1_Pooling/config.json", 0
  };
  static const char *azRerankReal[] = { "vocab.txt", "tokenizer.json", 0 };
  static const char *azRerankOwn[] = {
    "config.json", "tokenizer_config.json", "special_tokens_map.json", 0
  };
  static TensorList list;
  char zSrc[MAX_PATH], zDir[MAX_PATH], zFile[MAX_PATH];
  const char *zShared, *zOut;

  if( argc>0 && argv[0] && argv[0][0] ) zArgv0 = argv[0];
  if( argc!=3 ){
    fprintf(stderr, "usage: %s SHARED_MODELS_DIR OUT_DIR\n"
        "  SHARED_MODELS_DIR holds all-MiniLM-L6-v2/, ms-marco-MiniLM-L-6-v2/"
        " and synthetic/rerank/\n", zArgv0);
    return 2;
  }
  zShared = argv[1];
  zOut = argv[2];
  signal(SIGINT, onSignal);
  signal(SIGTERM, onSignal);
  signal(SIGHUP, onSignal);

  /* Embedding twin of sentence-transformers/all-MiniLM-L6-v2 */
  if( joinPath(zSrc, sizeof(zSrc), zShared, "all-MiniLM-L6-v2")
   || joinPath(zDir, sizeof(zDir), zOut, "minilm-l6-embed")
   || copyFiles(zSrc, zDir, azEmbed)
   || joinPath(zFile, sizeof(zFile), zDir, "model.safetensors") ){
    return 1;
  }
  list.n = 0;
  if( addBert(&list, "") || writeSafetensors(zFile, &list) ) return 1;

  /* Cross-encoder twin of cross-encoder/ms-marco-MiniLM-L-6-v2.  It also
  ** carries the I64 position_ids buffer of older checkpoints, which loaders
  ** must skip. */
  if( joinPath(zSrc, sizeof(zSrc), zShared, "ms-marco-MiniLM-L-6-v2")
   || joinPath(zDir, sizeof(zDir), zOut, "minilm-l6-rerank")
   || copyFiles(zSrc, zDir, azRerankReal)
   || joinPath(zSrc, sizeof(zSrc), zShared, "synthetic/rerank")
   || copyFiles(zSrc, zDir, azRerankOwn)
   || joinPath(zFile, sizeof(zFile), zDir, "model.safetensors") ){
    return 1;
  }
  list.n = 0;
  if( addBert(&list, "bert.")
   || addTensor(&list, "", "classifier.weight", 1, H, 'w')
   || addTensor(&list, "", "classifier.bias", 1, 0, 'b')
   || addTensor(&list, "", "bert.embeddings.position_ids", 1, POS, 'i')
   || writeSafetensors(zFile, &list) ){
    return 1;
  }
  printf("wrote %s/minilm-l6-embed and %s/minilm-l6-rerank\n", zOut, zOut);
  return 0;
}
